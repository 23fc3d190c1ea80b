/* tf_signals.c - see tf_signals.h. */
#include "tf_signals.h"
#include <pthread.h>
#include <signal.h>

void tf_signals_to_fd(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
}
