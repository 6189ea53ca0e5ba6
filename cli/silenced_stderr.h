/* Standard error set aside for a stretch of code that prints what every process of an MPI job
 * would print alike (the usage errors of the command line each rank parses): the ranks other than
 * 0 silence it, so that the message is read once, and get it back for what they alone can say. */
#ifndef IPRO_CLI_SILENCED_STDERR_H
#define IPRO_CLI_SILENCED_STDERR_H

/* Points standard error at /dev/null and returns a descriptor of where it pointed, or -1 when it
 * cannot (standard error is then left as it was, and the caller's messages still appear). */
int ipro_cli_stderr_silence(void);
/* Points standard error back where it pointed before ipro_cli_stderr_silence returned `saved`
 * (nothing when saved is -1). */
void ipro_cli_stderr_restore(int saved);

#endif
