#!/usr/bin/env python3
"""Writes tests/data/winmail.dat: a TNEF stream as Outlook sends it in "Rich Text" mails
([MS-OXTNEF] 2.1.3), with two files: gps-photo.jpg under a Unicode long file name
(PR_ATTACH_LONG_FILENAME, PT_UNICODE) and a short text whose only name is its 8-bit title
(attAttachTitle, Windows-1252). Checked with Debian's `tnef` tool (tnef -t winmail.dat).

    python3 tests/data/make_winmail.py   # from the repository's root
"""
import struct

LVL_MESSAGE, LVL_ATTACHMENT = 1, 2


def attribute(level, att_id, data):
    return (struct.pack("<BII", level, att_id, len(data)) + data +
            struct.pack("<H", sum(data) & 0xFFFF))


def unicode_prop(prop_id, text):
    raw = (text + "\0").encode("utf-16-le")
    pad = b"\0" * (-len(raw) % 4)
    # tag (PT_UNICODE 0x001F), one value, its length, the value padded to 4 bytes
    return struct.pack("<III", (prop_id << 16) | 0x001F, 1, len(raw)) + raw + pad


def rend_data():
    # atyp file (1), position unknown, no size, no flags
    return struct.pack("<HIHHI", 1, 0xFFFFFFFF, 0, 0, 0)


def main():
    photo = open("tests/data/gps-photo.jpg", "rb").read()
    out = struct.pack("<IH", 0x223E9F78, 0x4C2B)
    out += attribute(LVL_MESSAGE, 0x00089006, struct.pack("<I", 0x00010000))  # attTnefVersion
    out += attribute(LVL_MESSAGE, 0x00069007, struct.pack("<II", 1252, 0))  # attOemCodepage
    out += attribute(LVL_MESSAGE, 0x00078008, b"IPM.Microsoft Mail.Note\0")  # attMessageClass
    # the photo: rendering, short title, data, then its MAPI properties with the long name
    out += attribute(LVL_ATTACHMENT, 0x00069002, rend_data())
    out += attribute(LVL_ATTACHMENT, 0x00018010, b"SCHLAG~1.JPG\0")
    out += attribute(LVL_ATTACHMENT, 0x0006800F, photo)
    props = struct.pack("<I", 1) + unicode_prop(0x3707, "Schlagloch Straße.jpg")
    out += attribute(LVL_ATTACHMENT, 0x00069005, props)
    # a text with its 8-bit title only
    out += attribute(LVL_ATTACHMENT, 0x00069002, rend_data())
    out += attribute(LVL_ATTACHMENT, 0x00018010, "Gruß.txt\0".encode("cp1252"))
    out += attribute(LVL_ATTACHMENT, 0x0006800F, b"Hallo\r\n")
    open("tests/data/winmail.dat", "wb").write(out)


if __name__ == "__main__":
    main()
