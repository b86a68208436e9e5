"""Synthetic exports, one per built-in format, written from the documented layouts.

Invented data (numbers from the Ofcom drama ranges, made-up names); each file
carries the quirks its format is known for. Codes, extensions and logins are
those of the sample workbooks.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

NUMBERS = [
    "01632960123",
    "02079460000",
    "07700900123",
    "0800123456",
    "0033140000000",
    "01134960555",
    "07700900456",
    "0061298765432",
]


def q(v: object) -> str:
    """Asterisk-style quoting: wrapped, inner quotes doubled."""
    return '"' + str(v).replace('"', '""') + '"'


def _calls(rnd: random.Random, accs: list[dict], n: int):
    start = dt.datetime(2026, 10, 1, 8, 0)
    for i in range(n):
        a = rnd.choice(accs)
        when = start + dt.timedelta(minutes=rnd.randrange(0, 30 * 24 * 60))
        answered = rnd.random() > 0.15
        secs = rnd.choice([7, 35, 61, 125, 300, 905]) if answered else 0
        ring = rnd.choice([3, 6, 12])
        yield i, a, when, answered, ring, secs, rnd.choice(NUMBERS)


def asterisk_csv(rnd, accs) -> str:
    """cdr_csv with newcdrcolumns (21 fields); a forked dial shares one linkedid."""
    lines = []
    for i, a, when, answered, ring, secs, number in _calls(rnd, accs, 60):
        ans = when + dt.timedelta(seconds=ring)
        end = ans + dt.timedelta(seconds=secs)
        uid = f"1790000{i:03d}.{i}"
        acct = a["pbx_code"] if rnd.random() < 0.3 else ""
        disp = "ANSWERED" if answered else rnd.choice(["NO ANSWER", "BUSY", "FAILED"])
        legs = 2 if i % 15 == 4 else 1  # a forked dial: two rows, one call
        for leg in range(legs):
            lines.append(
                ",".join(
                    [
                        q(acct),
                        q(a["extension"]),
                        q(number),
                        q("from-internal"),
                        q(f'"{a["name"]}" <{a["extension"]}>'),
                        q(f"SIP/{a['extension']}-0000{i:04d}"),
                        q(f"SIP/trunk-0000{i:04d}{leg}"),
                        q("Dial"),
                        q(f"SIP/trunk/{number},60"),
                        q(f"{when:%Y-%m-%d %H:%M:%S}"),
                        q(f"{ans:%Y-%m-%d %H:%M:%S}") if answered else "",
                        q(f"{end:%Y-%m-%d %H:%M:%S}"),
                        str(ring + secs),
                        str(secs),
                        q(disp),
                        q("DOCUMENTATION"),
                        q(f"{uid}{leg}"),
                        q(""),
                        q(""),
                        q(uid),
                        str(leg + 1),
                    ]
                )
            )
    lines.append(lines[-1][:40])  # a line cut short: one unparseable row
    return "\n".join(lines) + "\n"


def asterisk_custom(rnd, accs) -> str:
    """cdr_custom stock mapping: accountcode is field 16; all quoted except sequence."""
    lines = []
    for i, a, when, answered, ring, secs, number in _calls(rnd, accs, 40):
        ans = when + dt.timedelta(seconds=ring)
        end = ans + dt.timedelta(seconds=secs)
        disp = "ANSWERED" if answered else "NO ANSWER"
        lines.append(
            ",".join(
                [
                    q(f'"{a["name"]}" <{a["extension"]}>'),
                    q(a["extension"]),
                    q(number),
                    q("from-internal"),
                    q(f"PJSIP/{a['extension']}-0000{i:04d}"),
                    q("PJSIP/trunk"),
                    q("Dial"),
                    q(f"PJSIP/{number}@trunk"),
                    q(f"{when:%Y-%m-%d %H:%M:%S}"),
                    q(f"{ans:%Y-%m-%d %H:%M:%S}" if answered else ""),
                    q(f"{end:%Y-%m-%d %H:%M:%S}"),
                    q(ring + secs),
                    q(secs),
                    q(disp),
                    q("DOCUMENTATION"),
                    q(""),
                    q(f"1790100{i:03d}.{i}"),
                    q(""),
                    str(i),
                ]
            )
        )
    return "\n".join(lines) + "\n"


def freepbx(rnd, accs) -> bytes:
    """FreePBX CDR Reports download, opened and re-saved in a spreadsheet: quotes
    stripped, seconds dropped, dates as 2026/10/3 14:05, CR-only line endings."""
    lines = [
        "calldate,clid,src,dst,dcontext,channel,dstchannel,lastapp,lastdata,duration,"
        "billsec,disposition,amaflags,accountcode,uniqueid,userfield"
    ]
    for i, a, when, answered, ring, secs, number in _calls(rnd, accs, 40):
        disp = "ANSWERED" if answered else "NO ANSWER"
        lines.append(
            ",".join(
                [
                    f"{when.year}/{when.month}/{when.day} {when:%H:%M}",
                    f"{a['name']} <{a['extension']}>",
                    a["extension"],
                    number,
                    "from-internal",
                    f"PJSIP/{a['extension']}-{i:08x}",
                    "PJSIP/trunk",
                    "Dial",
                    f"PJSIP/{number}@trunk",
                    str(ring + secs),
                    str(secs),
                    disp,
                    "3",
                    "",
                    f"1790200{i:03d}.{i}",
                    "",
                ]
            )
        )
    return ("\r".join(lines) + "\r").encode()


def freeswitch(rnd, accs) -> str:
    """mod_cdr_csv default template; inbound calls come in through the public context."""
    lines = []
    for i, a, when, answered, ring, secs, number in _calls(rnd, accs, 40):
        inbound = i % 9 == 0
        ans = when + dt.timedelta(seconds=ring)
        end = ans + dt.timedelta(seconds=secs)
        cause = "NORMAL_CLEARING" if answered else "NO_ANSWER"
        acct = a["pbx_code"] if rnd.random() < 0.7 else ""
        caller, dest = (number, a["extension"]) if inbound else (a["extension"], number)
        lines.append(
            ",".join(
                q(v)
                for v in [
                    a["name"],
                    caller,
                    dest,
                    "public" if inbound else "default",
                    f"{when:%Y-%m-%d %H:%M:%S}",
                    f"{ans:%Y-%m-%d %H:%M:%S}" if answered else "",
                    f"{end:%Y-%m-%d %H:%M:%S}",
                    ring + secs,
                    secs,
                    cause,
                    f"5b0c{i:04d}-0000-4000-8000-00000000{i:04d}",
                    "",
                    "" if inbound else acct,
                    "PCMA",
                    "PCMA",
                ]
            )
        )
    return "\n".join(lines) + "\n"


def threecx(rnd, accs) -> bytes:
    """3CX v18 CDR log, 27 fields, UTF-8 BOM; bill-code dialled as **CODE; bill-cost."""
    lines = []
    for i, a, when, answered, ring, secs, number in _calls(rnd, accs, 50):
        ans = when + dt.timedelta(seconds=ring)
        end = ans + dt.timedelta(seconds=secs)
        kind = rnd.choice(["out", "out", "out", "in", "internal"])
        dur = f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}" if answered else ""
        code = f"**{a['room_code']}" if kind == "out" and rnd.random() < 0.4 else ""
        cost = f"{secs * 0.0009:.2f}" if kind == "out" and answered else ""
        ext = a["extension"]
        frm, to = {
            "out": (f"Ext.{ext}", number),
            "in": (number, f"Ext.{ext}"),
            "internal": (f"Ext.{ext}", "Ext.299"),
        }[kind]
        types = {
            "out": ("Internal", "External"),
            "in": ("External", "Internal"),
            "internal": ("Internal", "Internal"),
        }[kind]
        lines.append(
            ",".join(
                [
                    f"Call {9000 + i}",
                    f"00000171DEE{i:05X}_{2500 + i}",
                    dur,
                    f"{when:%Y/%m/%d %H:%M:%S}",
                    f"{ans:%Y/%m/%d %H:%M:%S}" if answered else "",
                    f"{end:%Y/%m/%d %H:%M:%S}",
                    "TerminatedBySrc" if answered else "Failed_Cancelled",
                    frm,
                    to,
                    ext if kind != "in" else "10000",
                    ext if kind == "in" else "10001",
                    to,
                    "",
                    "",
                    "",
                    code,
                    "1" if cost else "",
                    cost,
                    "default" if cost else "",
                    f'"Chain: {frm},{to},"',
                    types[0],
                    types[1],
                    types[1],
                    a["name"],
                    "",
                    "",
                    "",
                ]
            )
        )
    return b"\xef\xbb\xbf" + ("\r\n".join(lines) + "\r\n").encode()


def avaya(rnd, accs) -> str:
    """IP Office SMDR: 35 fields, no quotes; a transferred call is two segments."""
    lines = []
    for i, a, when, _answered, ring, secs, number in _calls(rnd, accs, 40):
        direction = "I" if i % 8 == 0 else "O"
        internal = "1" if i % 11 == 0 else "0"
        account = a["pbx_code"] if rnd.random() < 0.3 else ""
        segments = 2 if i % 10 == 3 else 1
        for seg in range(segments):
            conn = secs if seg == 0 else 40
            lines.append(
                ",".join(
                    [
                        f"{when:%Y/%m/%d %H:%M:%S}",
                        f"{conn // 3600:02d}:{conn // 60 % 60:02d}:{conn % 60:02d}",
                        str(ring),
                        a["extension"],
                        direction,
                        number,
                        number,
                        account,
                        internal,
                        str(1000000 + i),
                        "1" if seg < segments - 1 else "0",
                        f"E{a['extension']}",
                        a["name"][:15],
                        "T9001",
                        f"Line 1.{i}",
                        "0",
                        "0",
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                        "192.0.2.10",
                        str(2000 + i),
                        "",
                        "",
                        "",
                    ]
                )
            )
    return "\r\n".join(lines) + "\r\n"


def papercut_logger(rnd, accs) -> bytes:
    """Print Logger daily CSV: title line, header, trailing comma; one document name
    carries a byte that is not UTF-8."""
    lines = [
        "PaperCut Print Logger - http://www.papercut.com/",
        "Time,User,Pages,Copies,Printer,Document Name,Client,Paper Size,Language,Height,"
        "Width,Duplex,Grayscale,Size",
    ]
    docs = ["Minutes.docx - Word", "Invoice 1042.pdf", "Floor plan.pdf", "Notes - Notepad"]
    for i in range(40):
        a = rnd.choice(accs)
        when = dt.datetime(2026, 10, 14, 8, 0) + dt.timedelta(minutes=7 * i)
        grey = "GRAYSCALE" if rnd.random() < 0.7 else "NOT GRAYSCALE"
        lines.append(
            f"{when:%Y-%m-%d %H:%M:%S},{a['login']},{rnd.choice([1, 2, 3, 10])},"
            f'{rnd.choice([1, 1, 2])},KX-MAN01,"{rnd.choice(docs)}",MANWK{i:03d},A4,PCL6,,,'
            f"NOT DUPLEX,{grey},{rnd.randrange(10, 900)}kb,"
        )
    raw = ("\r\n".join(lines) + "\r\n").encode()
    return raw.replace(b"Floor plan.pdf", b"Floor plan r\xe9vis\xe9.pdf", 1)


def papercut_ng(rnd, accs) -> str:
    """NG/MF print log: tab-separated, date and 12-hour time split by a tab."""
    lines = []
    for i in range(40):
        a = rnd.choice(accs)
        when = dt.datetime(2026, 10, 14, 8, 0) + dt.timedelta(minutes=9 * i)
        hour = when.hour % 12 or 12
        ampm = "a" if when.hour < 12 else "p"
        pages = rnd.choice([1, 2, 4, 12])
        colour = pages if rnd.random() < 0.3 else 0
        account = a["room_code"] if rnd.random() < 0.5 else a["login"]
        lines.append(
            "\t".join(
                [
                    f"{when:%Y-%m-%d}",
                    f"{hour}:{when:%M:%S} {ampm}",
                    "PRINTSRV01",
                    "LON-FLOOR2",
                    a["login"],
                    account,
                    f"LONWK{i:03d}",
                    "Quarterly report.pdf",
                    str(pages),
                    str(colour),
                    "1",
                    f"{pages * 0.05:.2f}",
                ]
            )
        )
    return "\n".join(lines) + "\n"


def cups(rnd, accs) -> str:
    """CUPS page_log with job-billing; `-` when the user gave none."""
    lines = []
    for i in range(30):
        a = rnd.choice(accs)
        when = dt.datetime(2026, 10, 20, 9, 0) + dt.timedelta(minutes=11 * i)
        billing = a["room_code"] if rnd.random() < 0.6 else "-"
        lines.append(
            f"MAN-Laser {a['login']} {100 + i} [{when:%d/%b/%Y:%H:%M:%S} +0100] total "
            f"{rnd.choice([1, 2, 5, 20])} {billing} manwk{i:02d}.local report-{i}.pdf A4 "
            "one-sided"
        )
    return "\n".join(lines) + "\n"


FILES = {
    "asterisk-master.csv": ("London", asterisk_csv),
    "asterisk-custom-master.csv": ("Manchester", asterisk_custom),
    "freepbx-cdr.csv": ("Manchester", freepbx),
    "freeswitch-master.csv": ("London", freeswitch),
    "3cx-cdr.log": ("Manchester", threecx),
    "avaya-smdr.txt": ("London", avaya),
    "papercut-print-log-2026-10-14.csv": ("Manchester", papercut_logger),
    "printlog_2026_10_14.log": ("London", papercut_ng),
    "page_log": ("Manchester", cups),
}


def write_device_exports(accs: list[dict], folder: Path) -> None:
    rnd = random.Random(4711)
    for name, (location, make) in FILES.items():
        here = [a for a in accs if a["location"] == location]
        data = make(rnd, here)
        path = folder / name
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8", newline="")
