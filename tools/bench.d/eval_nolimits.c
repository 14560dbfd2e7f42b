/* eval_nolimits.c -- `spinerules` with the sandbox's time budget and memory
 * budget switched off, for target 7 of issue 7 (what the limits cost).
 * sandbox.h documents sr_sandbox_default_limits as the place where a process
 * changes the limits before opening an engine; 0 means "no limit" for both.
 * Everything else (the counting allocator, the capped string functions, the
 * result checks) is the same code as the real executable. Not installed;
 * tools/bench runs it with an explicit --rules. */
#include "cli.h"
#include "sandbox.h"

int main(int argc, char **argv)
{
    sr_sandbox_default_limits.time_limit_ms = 0; /* no watchdog thread, nothing armed per case */
    sr_sandbox_default_limits.mem_limit = 0;     /* the allocator's budget check never refuses */
    return sr_cli_main(argc, argv);
}
