/* tf_signals.h - a program whose loop reads SIGINT and SIGTERM from a signalfd (the station,
 * bksim) blocks them in every thread before starting any, and ignores SIGPIPE so that a closed
 * pipe on stdout (`| head`) ends a printer, not the process. */
#pragma once

/* Blocks SIGINT and SIGTERM in the calling thread (threads started later inherit it) and
 * ignores SIGPIPE. Call before the first pthread_create. */
void tf_signals_to_fd(void);
