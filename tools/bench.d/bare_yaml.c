/* bare_yaml.c -- the parser limit: libyaml's event loop over a file, doing
 * nothing else. tools/bench compares eval against it. */
#include <stdio.h>
#include <yaml.h>

int main(int argc, char **argv)
{
    FILE *f = argc > 1 ? fopen(argv[1], "rb") : stdin;
    if (!f)
        return 2;
    yaml_parser_t p;
    yaml_event_t ev;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, f);
    unsigned long events = 0;
    for (;;) {
        if (!yaml_parser_parse(&p, &ev)) {
            fprintf(stderr, "yaml error: %s\n", p.problem);
            return 1;
        }
        int done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
        events++;
        if (done)
            break;
    }
    yaml_parser_delete(&p);
    printf("%lu events\n", events);
    return 0;
}
