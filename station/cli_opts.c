/* cli_opts.c - getopt_long over a cli_command's table, and its --help; see cli_opts.h. */
#include "cli_opts.h"
#include <getopt.h>
#include <stdbool.h>
#include <string.h>

#define CLI_MAX_OPTS 24

void cli_parser_init(cli_parser *p, const cli_command *cmd, int argc, char **argv)
{
    p->cmd = cmd;
    p->argc = argc;
    p->argv = argv;
    p->first_operand = argc;
    optind = 0; /* 0, not 1: glibc starts over, forgetting any earlier parse */
}

static int n_opts(const cli_command *cmd)
{
    int n = 0;
    while (cmd->opts && cmd->opts[n].name && n < CLI_MAX_OPTS)
        n++;
    return n;
}

/* "option '--p' is ambiguous (--port, --profile)", when more than one option starts so. */
static bool ambiguous(const cli_command *cmd, const char *arg, char *err, size_t errlen)
{
    const char *eq = strchr(arg, '=');
    size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
    if (n < 3 || strncmp(arg, "--", 2))
        return false;
    char list[256] = "";
    int hits = 0;
    for (const cli_opt *o = cmd->opts; o && o->name; o++)
        if (!strncmp(o->name, arg + 2, n - 2)) {
            if (strlen(o->name) == n - 2)
                return false; /* an exact name is never ambiguous */
            size_t l = strlen(list);
            snprintf(list + l, sizeof list - l, "%s--%s", hits++ ? ", " : "", o->name);
        }
    if (hits < 2)
        return false;
    snprintf(err, errlen, "option '%.*s' is ambiguous (%s)", (int)n, arg, list);
    return true;
}

int cli_next(cli_parser *p, const char **value, char *err, size_t errlen)
{
    struct option longs[CLI_MAX_OPTS + 1];
    int n = n_opts(p->cmd);
    for (int i = 0; i < n; i++)
        longs[i] = (struct option){p->cmd->opts[i].name,
                                   p->cmd->opts[i].arg ? required_argument : no_argument, NULL,
                                   1000 + i};
    longs[n] = (struct option){0};
    char shorts[2 * CLI_MAX_OPTS + 2] = ":";
    for (const cli_letter *l = p->cmd->letters; l->letter && l->opt < n; l++) {
        size_t k = strlen(shorts);
        shorts[k++] = l->letter;
        if (p->cmd->opts[l->opt].arg)
            shorts[k++] = ':';
    }
    opterr = 0; /* our words, through the caller (flash --json puts them in its JSON) */
    int before = optind ? optind : 1;
    int c = getopt_long(p->argc, p->argv, shorts, longs, NULL);
    *value = NULL;
    if (c == -1) {
        p->first_operand = optind;
        return CLI_END;
    }
    for (const cli_letter *l = p->cmd->letters; l->letter && c > 0 && c < 1000; l++)
        if (l->letter == c)
            c = 1000 + l->opt;
    if (c >= 1000 && c < 1000 + n) {
        *value = optarg;
        return c - 1000;
    }
    /* an error: the token is the one getopt just stepped over */
    const char *tok = optind > before ? p->argv[optind - 1] : p->argv[before];
    if (c == ':' && optopt >= 1000 && optopt < 1000 + n) {
        snprintf(err, errlen, "--%s needs a value (see trayflash %s --help)",
                 p->cmd->opts[optopt - 1000].name, p->cmd->name);
    } else if (optopt >= 1000 && optopt < 1000 + n) {
        snprintf(err, errlen, "--%s takes no value (see trayflash %s --help)",
                 p->cmd->opts[optopt - 1000].name, p->cmd->name);
    } else if (!ambiguous(p->cmd, tok, err, errlen)) {
        if (optopt && strncmp(tok, "--", 2))
            snprintf(err, errlen, "unknown option '-%c' (see trayflash %s --help)", optopt,
                     p->cmd->name);
        else
            snprintf(err, errlen, "unknown option '%s' (see trayflash %s --help)", tok,
                     p->cmd->name);
    }
    return CLI_ERROR;
}

/* `text` with each '\n' followed by `indent` blanks. */
static void put_indented(FILE *out, const char *text, int indent)
{
    for (const char *t = text; *t; t++) {
        fputc(*t, out);
        if (*t == '\n')
            fprintf(out, "%*s", indent, "");
    }
}

/* "--port PATH", or "-v, --verbose" for one with a one-letter form. */
static int option_column(const cli_command *cmd, const cli_opt *o, char *col, size_t len)
{
    char letter[8] = "";
    for (const cli_letter *l = cmd->letters; l->letter; l++)
        if (&cmd->opts[l->opt] == o)
            snprintf(letter, sizeof letter, "-%c, ", l->letter);
    return snprintf(col, len, "%s--%s%s%s", letter, o->name, o->arg ? " " : "",
                    o->arg ? o->arg : "");
}

void cli_print_help(const cli_command *cmd, FILE *out)
{
    fputs("usage: trayflash ", out);
    put_indented(out, cmd->synopsis, (int)strlen("usage: trayflash "));
    fputs("\n", out);
    if (cmd->about)
        fprintf(out, "\n%s\n", cmd->about);
    int width = (int)strlen("-h, --help");
    char col[128];
    for (const cli_opt *o = cmd->opts; o && o->name; o++) {
        int w = option_column(cmd, o, col, sizeof col);
        if (w > width)
            width = w;
    }
    fputs("\n", out);
    for (const cli_opt *o = cmd->opts; o && o->name; o++) {
        option_column(cmd, o, col, sizeof col);
        fprintf(out, "  %-*s  ", width, col);
        put_indented(out, o->help, width + 4);
        fputs("\n", out);
    }
    fprintf(out, "  %-*s  this text\n", width, "-h, --help");
    if (cmd->footer)
        fprintf(out, "\n%s", cmd->footer);
}
