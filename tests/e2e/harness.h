/* harness.h -- what the end-to-end suites share: run the built executable
 * from the source folder and capture what it prints. Compiled into each
 * suite (SR_BINARY and SR_SOURCE_DIR are the suite's definitions). */
#ifndef SR_TEST_HARNESS_H
#define SR_TEST_HARNESS_H

typedef struct {
    char *out;   /* stdout, malloc'd */
    char *err;   /* stderr, malloc'd */
    int status;  /* exit status, or -1 */
} run_t;

/* The whole file at path (malloc'd; "" when it cannot be read). */
char *slurp(const char *path);
/* Runs "spinerules ARGS" (ARGS as the shell reads them) from the source
 * folder, capturing both streams. Free with run_free. */
run_t run(const char *args);
/* Runs a shell command from the source folder, capturing both streams. */
run_t run_shell(const char *command);
void run_free(run_t *r);

#endif
