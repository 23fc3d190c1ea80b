/* bk_cause.c - the cause table. Remedies follow docs/physics-failures.md. */
#include "bk_cause.h"
#include <string.h>

static const bk_cause_info cause_table[BK_CAUSE_COUNT] = {
    [BK_CAUSE_NONE] = {"pass", "pass", "flashed and verified by the chip's CRC", "none"},
    [BK_CAUSE_NO_DOWNLOAD_MODE] = {"no_download_mode", "no link",
        "the module never answered LinkCheck after reset: it is not in download mode",
        "check CEN/RTS wiring or power-cycle the module while linking; check TX/RX are crossed; "
        "check the adapter works (loopback)"},
    [BK_CAUSE_BROWNOUT] = {"brownout", "brown-out",
        "link, read and erase answered, then a 4 KiB write was never acknowledged: the module "
        "browned out (weak 3.3 V) or lost signal integrity while programming",
        "feed 3.3 V from a separate regulator able to give 300+ mA, add 100 uF + 100 nF at the "
        "module, use short wires and a second ground wire, lower the baud"},
    [BK_CAUSE_SIGNAL_INTEGRITY] = {"signal_integrity", "noisy line",
        "replies or written data arrived garbled, and the failures move with the baud rate",
        "use shorter wires and a common ground, lower the baud; a 100 nF cap on a data line is a "
        "mistake"},
    [BK_CAUSE_ADAPTER_BAUD_LIMIT] = {"adapter_baud_limit", "adapter baud",
        "the module stopped answering after switching to a high baud but works at 115200: the "
        "adapter cannot carry that rate",
        "use a lower baud for this adapter (a CP2102 cannot do 921600) or a better adapter"},
    [BK_CAUSE_WRONG_CHIP] = {"wrong_chip", "wrong chip",
        "the module's chip family differs from the profile's; nothing was erased",
        "put the right product's profile on this bay, or sort the tray"},
    [BK_CAUSE_NO_VARIANT] = {"no_variant", "no variant",
        "the product has no image for this module's chip; nothing was erased",
        "sort the tray, or have the product engineer add a variant for this chip"},
    [BK_CAUSE_FLASH_PROTECTED] = {"flash_protected", "protected",
        "the flash is write-protected: an erase did not blank it or protection could not be lifted",
        "unprotect the flash (BK7231N: status register; BK7231T: LinkCheck after CRC before "
        "erasing); if it repeats, set this module aside"},
    [BK_CAUSE_FOREIGN_TRAFFIC] = {"foreign_traffic", "foreign traffic",
        "bytes arrived on the line that are no bootloader reply: another device talks on UART1",
        "hold the TuyaMCU/host MCU in reset or cut its TX, or flash the module out of circuit"},
    [BK_CAUSE_IMAGE_ERROR] = {"image_error", "image error",
        "the image or profile is unusable for this module; nothing was written",
        "fix the profile or the image (offset, size, chip, sha256 pin)"},
    [BK_CAUSE_VERIFY_FAILED] = {"verify_failed", "verify failed",
        "every write was acknowledged but the flash CRC differs from the image",
        "re-flash; if it repeats on this bay, suspect the fixture's contacts"},
    [BK_CAUSE_ADAPTER_REMOVED] = {"adapter_removed", "adapter gone",
        "the USB-serial adapter disappeared during the job",
        "re-seat the adapter; the module must be flashed again"},
    [BK_CAUSE_MODULE_LOST] = {"module_lost", "contact lost",
        "replies stopped mid-job and the module never answered a re-link",
        "re-seat the module in the socket; check the pogo pins"},
    [BK_CAUSE_PORT_ERROR] = {"port_error", "port error",
        "the serial port could not be opened or configured",
        "check the adapter is plugged in, not used by another program, and that the station "
        "user may open it (dialout group)"},
    [BK_CAUSE_PROTOCOL] = {"protocol_error", "chip error",
        "the bootloader answered a command with an error status",
        "re-seat and retry; if it repeats, set the module aside for analysis"},
    [BK_CAUSE_CANCELLED] = {"cancelled", "cancelled",
        "the job was stopped before it finished (operator or station shutdown)",
        "flash the module again"},
    [BK_CAUSE_BACKUP_FAILED] = {"backup_failed", "backup failed",
        "the module's own data could not be read and verified by CRC for its backup; nothing "
        "was erased",
        "re-seat the module and retry; a module that resets while being read browns out: feed "
        "3.3 V from a separate regulator, use short wires, lower the baud"},
    [BK_CAUSE_BACKUP_STORE] = {"backup_store", "backup store",
        "the station could not keep the module's backup (the store's disk or folder, or the "
        "database, refused it); nothing was erased",
        "free disk space or fix the backup folder's owner and mode (0700, the station's user); "
        "trayflash backup verify checks the store"},
    [BK_CAUSE_WRONG_MODULE] = {"wrong_module", "wrong module",
        "restore: the module shows another MAC than the backup's (or none); nothing was erased",
        "put the module the backup belongs to in the socket; a module whose RF sector was wiped "
        "(no MAC) is restored only with --force"},
    [BK_CAUSE_NO_MAC] = {"no_mac", "no MAC",
        "the module's RF calibration sector holds no MAC, so it cannot be personalised or tied to "
        "a ledger row; nothing was erased",
        "set the module aside: its RF calibration (MAC and radio data) is missing or damaged"},
    [BK_CAUSE_CONFIG_NOT_WRITTEN] = {"config_not_written", "config not written",
        "the application verified, but the per-device config sector did not read back with the "
        "host's CRC after every retry; the module keeps its ledger row",
        "retry the module (it gets the same row); if it repeats, check its 3.3 V supply and "
        "contacts, as for a brown-out"},
};

const bk_cause_info *bk_cause_get(bk_cause c)
{
    if ((int)c < 0 || c >= BK_CAUSE_COUNT)
        c = BK_CAUSE_PROTOCOL;
    return &cause_table[c];
}

bk_cause bk_cause_from_id(const char *id)
{
    for (int i = 0; i < BK_CAUSE_COUNT; i++)
        if (id && strcmp(cause_table[i].id, id) == 0)
            return (bk_cause)i;
    return BK_CAUSE_COUNT;
}
