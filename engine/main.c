/* main.c -- the spinerules executable. */
#include "cli.h"

int main(int argc, char **argv) { return sr_cli_main(argc, argv); }
