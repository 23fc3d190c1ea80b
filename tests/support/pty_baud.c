/* pty_baud.c - the baud a program set on a pty slave, read from the master side.
 *
 * Termios ioctls on a master act on the slave, so the chip's end of the wire can tell what
 * rate the program chose. TCGETS2 (not tcgetattr) so that a rate set through BOTHER, as
 * libserialport does for non-standard rates, reads back as the number. This file includes
 * the kernel's termbits, whose struct termios clashes with glibc's <termios.h>: nothing
 * else belongs here. */
#include "fakeport.h"

#include <asm/termbits.h>
#include <errno.h>
#include <sys/ioctl.h>

int support_pty_master_baud(int master_fd, uint32_t *baud)
{
    struct termios2 tio;
    if (ioctl(master_fd, TCGETS2, &tio) < 0)
        return -1;
    *baud = tio.c_ospeed;
    return 0;
}
