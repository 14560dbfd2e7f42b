/* cli.h -- the command line (a thin client of the library). */
#ifndef SR_CLI_H
#define SR_CLI_H

/* Runs "spinerules <command> ..."; returns the process exit status:
 * 0 all good, 1 some cases or golden cases failed, 2 usage, rule-set or I/O error. */
int sr_cli_main(int argc, char **argv);

#endif
