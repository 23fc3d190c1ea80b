/* tf_keys.c - schema look-ups; see tf_keys.h. */
#include "tf_keys.h"
#include <string.h>

int tf_schema_find(const tf_schema *s, unsigned kind, const char *name)
{
    for (int i = 0; i < s->n_keys; i++)
        if ((!kind || (s->keys[i].sections & kind)) && !strcmp(s->keys[i].name, name))
            return i;
    return -1;
}

int tf_schema_note_key(const tf_schema *s, int *key_line, int k, int line)
{
    if (key_line[k] && !(s->keys[k].flags & TF_KEY_REPEATS))
        return key_line[k];
    if (!key_line[k])
        key_line[k] = line;
    return 0;
}
