/* runstat.c -- runs a command and reports what the kernel measured of it:
 *
 *     runstat OUT -- COMMAND [ARG...]
 *
 * writes "exit=N maxrss_kb=N user_us=N sys_us=N" to the file OUT and exits
 * with the command's status. tools/bench runs every timed command through it:
 * a child forked from a large process (Python) inherits that process's RSS
 * high-water mark in ru_maxrss, but one forked from this small program does
 * not, so the peak RSS reported is the command's own. */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 4 || strcmp(argv[2], "--") != 0) {
        fprintf(stderr, "usage: runstat OUT -- COMMAND [ARG...]\n");
        return 125;
    }
    FILE *out = fopen(argv[1], "w");
    if (!out) {
        perror(argv[1]);
        return 125;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 125;
    }
    if (pid == 0) {
        execvp(argv[3], argv + 3);
        perror(argv[3]);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) {
        perror("wait4");
        return 125;
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    fprintf(out, "exit=%d maxrss_kb=%ld user_us=%lld sys_us=%lld\n", code, ru.ru_maxrss,
            (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
            (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec);
    fclose(out);
    return code;
}
