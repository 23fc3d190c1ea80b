/* cli_opts.h - a subcommand's options as a table: getopt_long parses argv from it, and
 * `--help` is printed from it, so an option cannot exist without its line of help (or the
 * other way round). Every subcommand (station/cmd_*.c) has one cli_command.
 *
 * What getopt_long brings over the hand parsers it replaced: --opt=value as well as
 * --opt value, unambiguous abbreviations (--prof for --profile), `--` ending the options,
 * and options after the positional arguments. The error messages stay ours (opterr is off):
 * "unknown option '--x' (see trayflash CMD --help)", "--port needs a value", and the new
 * "--json takes no value" and "option '--p' is ambiguous (--port, --profile)". */
#pragma once
#include <stddef.h>
#include <stdio.h>

typedef struct cli_opt {
    const char *name;  /* the long name, without "--" */
    const char *arg;   /* the value's name in --help ("FILE"); NULL for a flag */
    const char *help;  /* what it does; '\n' continues it on the next line, indented */
} cli_opt;

/* A one-letter form of an option (-v for --verbose). */
typedef struct cli_letter {
    char letter;       /* 0 ends the list */
    int opt;           /* its index in the command's opts */
} cli_letter;

typedef struct cli_command {
    const char *name;       /* "flash", "profile check": in usage and messages */
    const char *synopsis;   /* after "usage: trayflash "; '\n' starts an indented line */
    const char *about;      /* the paragraph under the usage; may be NULL */
    const cli_opt *opts;    /* ends with a row whose name is NULL */
    const char *footer;     /* "Exit status: ..." and notes, after the options; may be NULL */
    cli_letter letters[4];  /* the options' one-letter forms, if any */
} cli_command;

enum { CLI_END = -1, CLI_ERROR = -2 };

typedef struct cli_parser {
    const cli_command *cmd;
    int argc;
    char **argv;
    int first_operand; /* after CLI_END: argv[first_operand..argc) are the operands */
} cli_parser;

/* Starts parsing argv (argv[0] is the command's name). */
void cli_parser_init(cli_parser *p, const cli_command *cmd, int argc, char **argv);

/* The next option: its index in cmd->opts with *value its value (NULL for a flag), CLI_END
 * when the options are done, or CLI_ERROR with err = the words to print (no "trayflash CMD: "
 * prefix). -h and --help are left to cli_help_asked (main.c), which runs first. */
int cli_next(cli_parser *p, const char **value, char *err, size_t errlen);

/* The command's --help, from its table. */
void cli_print_help(const cli_command *cmd, FILE *out);
