/* sim_client.h - a tiny raw BK7231 client for the simulator tests: open a link path in raw
 * mode, send requests, wait for replies with poll() deadlines (never sleeps). */
#pragma once
#include "bk_proto.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

static inline speed_t cl_speed(uint32_t baud)
{
    switch (baud) {
    case 115200: return B115200;
    case 230400: return B230400;
    case 460800: return B460800;
    case 921600: return B921600;
    case 1500000: return B1500000;
    case 2000000: return B2000000;
    default: return B115200;
    }
}

static inline int cl_set_baud(int fd, uint32_t baud)
{
    struct termios t;
    if (tcgetattr(fd, &t))
        return -1;
    cfsetspeed(&t, cl_speed(baud));
    return tcsetattr(fd, TCSANOW, &t);
}

static inline int cl_open(const char *path, uint32_t baud)
{
    int fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct termios t;
    tcgetattr(fd, &t);
    cfmakeraw(&t);
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    cfsetspeed(&t, cl_speed(baud));
    tcsetattr(fd, TCSANOW, &t);
    tcflush(fd, TCIOFLUSH);
    return fd;
}

static inline void cl_write(int fd, const uint8_t *b, size_t n)
{
    while (n) {
        ssize_t w = write(fd, b, n);
        REQUIRE(w > 0 || (w < 0 && errno == EINTR));
        if (w > 0) {
            b += w;
            n -= (size_t)w;
        }
    }
}

/* Read until `want` bytes or the deadline; returns the count (-1: hang-up). */
static inline int cl_read(int fd, uint8_t *buf, size_t want, int timeout_ms)
{
    size_t got = 0;
    int64_t end = check_now_ms() + timeout_ms;
    while (got < want) {
        int64_t left = end - check_now_ms();
        if (left <= 0)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, (int)left);
        if (r <= 0)
            continue;
        ssize_t n = read(fd, buf + got, want - got);
        if (n > 0)
            got += (size_t)n;
        else if (n == 0 || (errno != EAGAIN && errno != EINTR))
            return got ? (int)got : -1;
    }
    return (int)got;
}

/* Wait for one reply frame; returns its total length (frame in buf) or 0 on timeout. */
static inline size_t cl_reply(int fd, uint8_t *buf, size_t cap, bk_frame *fr, int timeout_ms)
{
    size_t len = 0;
    int64_t end = check_now_ms() + timeout_ms;
    for (;;) {
        size_t consumed = 0, garbage = 0;
        if (len && bk_decode_reply(buf, len, fr, &consumed, &garbage) == BK_DECODE_FRAME) {
            memmove(buf, buf + garbage, consumed - garbage);
            return consumed - garbage;
        }
        int64_t left = end - check_now_ms();
        if (left <= 0 || len == cap)
            return 0;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        ssize_t n = read(fd, buf + len, cap - len);
        if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR)))
            return 0;
        if (n > 0)
            len += (size_t)n;
    }
}

static inline size_t cl_exchange(int fd, bool is_long, uint8_t cmd, const uint8_t *payload, size_t plen,
                                 uint8_t *rbuf, size_t rcap, bk_frame *fr, int timeout_ms)
{
    uint8_t req[BK_FRAME_MAX];
    size_t n = is_long ? bk_encode_request_long(req, sizeof req, cmd, payload, plen)
                       : bk_encode_request_short(req, sizeof req, cmd, payload, plen);
    REQUIRE(n > 0);
    cl_write(fd, req, n);
    return cl_reply(fd, rbuf, rcap, fr, timeout_ms);
}

/* LinkCheck every 5 ms (the poll timeout paces it) until answered or the deadline. */
static inline bool cl_link(int fd, int timeout_ms)
{
    uint8_t rb[64];
    bk_frame fr;
    int64_t end = check_now_ms() + timeout_ms;
    while (check_now_ms() < end) {
        if (cl_exchange(fd, false, BK_CMD_LINK_CHECK, NULL, 0, rb, sizeof rb, &fr, 5) && fr.cmd == 0x01 &&
            fr.payload_len == 1 && fr.payload[0] == 0) {
            /* answers to the earlier LinkChecks may still be coming: drop them until quiet */
            while (cl_read(fd, rb, sizeof rb, 20) > 0) {
            }
            return true;
        }
    }
    return false;
}

/* SetBaudRate as flashers do it: send at the old baud, switch about delay/2 later (a poll
 * that expects silence is the wait), then read the echo at the new baud. */
static inline bool cl_switch_baud(int fd, uint32_t baud, uint8_t delay_ms)
{
    uint8_t p[5], rb[64];
    bk_put_le32(p, baud);
    p[4] = delay_ms;
    uint8_t req[16];
    size_t n = bk_encode_request_short(req, sizeof req, BK_CMD_SET_BAUD, p, 5);
    cl_write(fd, req, n);
    tcdrain(fd);
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    if (poll(&pf, 1, delay_ms / 2) != 0)
        return false; /* nothing may arrive before the switch */
    cl_set_baud(fd, baud);
    bk_frame fr;
    return cl_reply(fd, rb, sizeof rb, &fr, 1000) && fr.cmd == BK_CMD_SET_BAUD && fr.payload_len == 5 &&
           memcmp(fr.payload, p, 5) == 0;
}
