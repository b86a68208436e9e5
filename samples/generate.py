"""Generate the sample workbooks and exports (invented data, deterministic).

Run with `make samples`; the outputs are committed so `make demo` needs no step.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from openpyxl import load_workbook

from processor.reference.templates import write_templates

HERE = Path(__file__).parent
WB = HERE / "workbooks"
EX = HERE / "exports"

COMPANIES = [
    "Acme Analytics",
    "Birchwood Legal",
    "Cobalt Design",
    "Dunmore Partners",
    "Elmfield Media",
    "Fenwick & Rowe",
    "Greyfriars Capital",
    "Harbour Lane Studio",
    "Ivybridge Consulting",
    "Juniper Health",
    "Kestrel Logistics",
    "Larkspur Events",
    "Meridian Recruitment",
    "Northgate Surveyors",
    "Oakhill Architects",
    "Pemberton Insurance",
    "Quayside Marketing",
    "Redwood Software",
    "Saltmarsh Films",
    "Thornbury Accountants",
    "Upland Energy",
    "Vantage Translations",
    "Westbrook Dental",
    "Yardley Foods",
    "Zenith Robotics",
    "Amberley Tutors",
    "Brackenridge Data",
    "Calder Engineering",
    "Davenport PR",
    "Eastfield Charity",
    "Foxglove Florists",
    "Goldcrest Travel",
    "Hawthorn Wealth",
    "Inglewood Games",
    "Jasper & Co",
    "Kingfisher Audio",
    "Lowther Property",
    "Marlowe Books",
    "Nettlebed Labs",
    "Orchard Payroll",
]


def accounts() -> list[dict]:
    out = []
    for i, name in enumerate(COMPANIES):
        out.append(
            {
                "id": f"A{1001 + i}",
                "name": name,
                "location": "London" if i < 22 else "Manchester",
                "status": "Inactive" if i in (7, 30) else "Active",
                "start": dt.date(2026, 10, 15) if i == 12 else dt.date(2024, 1, 1),
                "end": dt.date(2026, 10, 20) if i == 15 else None,
                "pbx_code": f"{4100 + i * 7}",
                "room_code": "".join(ch for ch in name.upper() if ch.isalpha())[:6],
                "extension": f"2{i:02d}",
                "login": name.split()[0].lower() + "admin",
            }
        )
    return out


# application, built-in format, default product, location (one of each built-in format)
DEVICE_APPS = [
    ("Asterisk PBX", "asterisk-cdr-csv", "CALLS", "London"),
    ("Asterisk Custom", "asterisk-cdr-custom", "CALLS", "Manchester"),
    ("FreePBX", "freepbx-cdr-report", "CALLS", "Manchester"),
    ("FreeSWITCH", "freeswitch-cdr-csv", "CALLS", "London"),
    ("3CX", "3cx-cdr", "CALLS-COST", "Manchester"),
    ("Avaya IPO", "avaya-ipo-smdr", "CALLS", "London"),
    ("PaperCut Logger", "papercut-print-logger", "PRINT-MONO", "Manchester"),
    ("PaperCut NG", "papercut-ng-print-log", "PRINT-MONO", "London"),
    ("CUPS", "cups-page-log", "PRINT-MONO", "Manchester"),
]
PRINT_APPS = {"PaperCut Logger", "PaperCut NG", "CUPS"}
# account codes held on the account: (application, location, which code)
CODE_APPS = [
    ("Asterisk PBX", "London", "pbx_code"),
    ("FreeSWITCH", "London", "pbx_code"),
    ("Avaya IPO", "London", "pbx_code"),
    ("3CX", "Manchester", "room_code"),
    ("PaperCut NG", "London", "room_code"),
    ("CUPS", "Manchester", "room_code"),
]


def fill(ws, rows: list[list]) -> None:
    for r in rows:
        ws.append(r)


PLANS = {"A1002": "Desk", "A1005": "Desk", "A1006": "Desk", "A1003": "Office", "A1004": "Office",
         "A1012": "Office"}  # fmt: skip


def write_workbooks() -> list[dict]:
    for f in ("accounts.xlsx", "devices.xlsx"):
        (WB / f).unlink(missing_ok=True)
    write_templates(WB)
    accs = accounts()
    wb = load_workbook(WB / "accounts.xlsx")
    fill(
        wb["Locations"],
        [
            [
                "London",
                "GBP",
                20,
                "Per Line",
                "Europe/London",
                "Harbour Lane Workspaces Ltd",
                "12 Finsbury Square, London, EC2A 1AS",
            ],
            [
                "Manchester",
                "GBP",
                20,
                "Per Charge",
                "Europe/London",
                "Harbour Lane Workspaces Ltd",
                "3 Piccadilly Place, Manchester, M1 3BN",
            ],
        ],
    )
    fill(
        wb["Accounts"],
        [
            [
                a["id"],
                a["name"],
                a["location"],
                a["status"],
                a["start"],
                a["end"],
                PLANS.get(a["id"]),
            ]
            for a in accs
        ],
    )
    # Desk: 50 mono pages and 10 minutes of calls a month; Office: 100 mono pages and 5.00
    # of calls
    fill(
        wb["Plans"],
        [
            ["Desk", "PRINT-MONO", 50, None],
            ["Desk", "CALLS", 10, None],
            ["Office", "PRINT-MONO", 100, None],
            ["Office", "CALLS", None, 5],
        ],
    )
    codes = [[a["id"], "Reception PBX", a["pbx_code"]] for a in accs if a["location"] == "London"]
    codes += [[a["id"], "Meeting Rooms", a["room_code"]] for a in accs]
    for app, loc, kind in CODE_APPS:
        codes += [[a["id"], app, a[kind]] for a in accs if a["location"] == loc]
    fill(wb["Account Codes"], codes)
    # Northgate's own price for mono printing: 0.04 a page, less 10 %
    fill(wb["Account Prices"], [["A1014", "PRINT-MONO", 0.04, None, None, None, None, None, 10]])
    # into the books: Xero numbers its invoices INV-01001 on; its tax rates and Sage 50's
    # T codes by name; Xero books calls to its sales account 200
    fill(wb["Books"], [["Xero", "INV-#####", 1001, 14, None]])
    fill(
        wb["Tax Codes"],
        [
            ["Xero", 20, "20% (VAT on Income)"],
            ["Xero", 0, "Zero Rated Income"],
            ["Sage 50", 20, "T1"],
            ["Sage 50", 0, "T0"],
        ],
    )
    fill(
        wb["GL Codes"],
        [["Xero", "4010", "200"], ["Xero", "4020", "210"], ["Xero", "4030", "220"]],
    )
    for ws in (wb["Accounts"], wb["Account Codes"]):
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, dt.date):
                    cell.number_format = "yyyy-mm-dd"
                elif isinstance(cell.value, str) and cell.column_letter == "C":
                    cell.number_format = "@"
    wb.save(WB / "accounts.xlsx")

    wb = load_workbook(WB / "devices.xlsx")
    fill(
        wb["Applications"],
        [
            ["Reception PBX", "TIM Call Log", "CALLS", "Account, Extn"],
            ["Print Server", "Print Log", "PRINT-MONO", None],
            ["Meeting Rooms", "generic-csv", "ROOM-HIRE", None],
            ["Copier", "Copier Excel Report", "PRINT-MONO", None],
            *[[app, fmt, product, None] for app, fmt, product, _ in DEVICE_APPS],
        ],
    )
    maps = [
        ["Reception PBX", "London", a["extension"], a["id"]]
        for a in accs
        if a["location"] == "London"
    ]
    # extension 203 changed hands on 10 October: Dunmore's until the 9th, then Upland's
    moved = next(m for m in maps if m[2] == "203")
    moved += [None, dt.date(2026, 10, 9)]
    maps.append(["Reception PBX", "London", "203", accs[20]["id"], dt.date(2026, 10, 10)])
    maps += [["Print Server", a["location"], a["login"], a["id"]] for a in accs]
    maps += [
        ["Copier", "Manchester", a["login"], a["id"]] for a in accs if a["location"] == "Manchester"
    ]
    for app, _, _, loc in DEVICE_APPS:
        kind = "login" if app in PRINT_APPS else "extension"
        maps += [[app, loc, a[kind], a["id"]] for a in accs if a["location"] == loc]
    fill(wb["Device Import Maps"], maps)
    for row in wb["Device Import Maps"].iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, dt.date):
                cell.number_format = "yyyy-mm-dd"
    fill(
        wb["Products"],
        [
            [
                "CALLS",
                "Telephone calls",
                "Tariff",
                None,
                None,
                None,
                None,
                None,
                "4010",
                "Standard",
                "Yes",
            ],
            [
                "CALLS-COST",
                "Telephone calls at cost plus",
                "Cost Plus",
                None,
                15,
                0,
                0.05,
                None,
                "4010",
                None,
                "No",
            ],
            [
                "PRINT-MONO",
                "Printing, black and white",
                "Unit Price",
                0.06,
                None,
                None,
                None,
                None,
                "4020",
                None,
                "No",
            ],
            [
                "PRINT-COLOUR",
                "Printing, colour",
                "Unit Price",
                0.25,
                None,
                None,
                None,
                None,
                "4020",
                None,
                "No",
            ],
            [
                "ROOM-HIRE",
                "Meeting room hire (hours)",
                "Unit Price",
                35,
                None,
                None,
                None,
                None,
                "4030",
                None,
                "No",
            ],
            [
                "CATERING",
                "Meeting room catering",
                "Cost Plus",
                None,
                10,
                1.5,
                None,
                20,
                "4031",
                None,
                "No",
            ],
        ],
    )
    fill(
        wb["Product Rules"],
        [
            ["Print Server", "mono", "PRINT-MONO"],
            ["Print Server", "colour", "PRINT-COLOUR"],
            ["Meeting Rooms", "catering", "CATERING"],
            *[
                [app, item, f"PRINT-{item.upper()}"]
                for app in ("PaperCut Logger", "PaperCut NG")
                for item in ("mono", "colour")
            ],
        ],
    )
    fill(
        wb["Formats"],
        [
            [
                "TIM Call Log",
                ",",
                "utf-8",
                1,
                1,
                "Yes",
                "Account",
                "Date",
                "%d/%m/%Y %H:%M:%S",
                "Time",
                "Destination",
                None,
                "Cost",
                "Duration",
                "Dialled Number",
                None,
                "No",
            ],
            [
                "Print Log",
                ";",
                "cp1252",
                0,
                0,
                "No",
                2,
                1,
                "%d/%m/%Y %H:%M",
                None,
                3,
                4,
                None,
                None,
                None,
                5,
                "Yes",
            ],
            # the copier's usage report, saved as Excel: a title block, the header on row
            # 4, a totals row at the end
            [
                "Copier Excel Report",
                None,
                None,
                4,
                1,
                "Yes",
                "User",
                "Date",
                None,
                None,
                "Document",
                "Pages",
                "Cost",
                None,
                None,
                None,
                "No",
                None,
                "Excel",
                "Usage",
            ],
        ],
    )
    fill(
        wb["Tariffs"],
        [
            ["Standard", "01", "UK landline", 0.05, 0.02, None, 1],
            ["Standard", "02", "UK landline", 0.05, 0.02, None, 1],
            ["Standard", "07", "UK mobile", 0.12, 0.02, 60, 1],
            ["Standard", "0800", "UK freephone", 0, 0, None, 1],
            ["Standard", "0044", "UK (international format)", 0.05, 0.02, None, 1],
            ["Standard", "00", "International", 0.45, 0.10, 60, 60],
            ["Standard", "0033", "France", 0.15, 0.05, None, 1],
            # evenings and weekends: landlines and mobiles cheaper (time bands)
            ["Standard", "01", "UK landline (evening)", 0.02, 0.02, None, 1, "Evening"],
            ["Standard", "02", "UK landline (evening)", 0.02, 0.02, None, 1, "Evening"],
            ["Standard", "07", "UK mobile (evening)", 0.08, 0.02, 60, 1, "Evening"],
            ["Standard", "01", "UK landline (weekend)", 0.01, 0.02, None, 1, "Weekend"],
            ["Standard", "02", "UK landline (weekend)", 0.01, 0.02, None, 1, "Weekend"],
        ],
    )
    fill(
        wb["Time Bands"],
        [
            ["Day", "Mon-Fri", "08:00", "18:00"],
            ["Evening", "Mon-Fri", "18:00", "08:00"],
            ["Weekend", "Sat, Sun, Holiday", "00:00", "00:00"],
        ],
    )
    fill(
        wb["Holidays"],
        [
            [dt.date(2026, 12, 25), None],
            [dt.date(2026, 12, 28), None],
            [dt.date(2026, 10, 9), "Manchester"],  # the site's own closure day
        ],
    )
    for ws in (wb["Device Import Maps"], wb["Tariffs"]):
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                if cell.column_letter in ("B" if ws.title == "Tariffs" else "C"):
                    cell.number_format = "@"
    wb.save(WB / "devices.xlsx")
    return accs


def write_copier_report(accounts: list[dict], start: dt.datetime, rnd: random.Random) -> None:
    """A copier's usage report as its software saves it in Excel: a merged title, a
    subtitle, the header on row 4, a row per job (date cells, number cells) and a totals
    row."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Usage"
    ws["A1"] = "Copier usage report: Manchester, October 2026"
    ws.merge_cells("A1:E1")
    ws["A2"] = "Generated 2026-11-01 06:00 by the copier's accounting"
    for col, name in enumerate(["User", "Date", "Document", "Pages", "Cost"], start=1):
        ws.cell(row=4, column=col, value=name)
    row = 5
    for _ in range(40):
        a = rnd.choice(accounts)
        when = start + dt.timedelta(minutes=rnd.randrange(0, 30 * 24 * 60))
        pages = rnd.choice([1, 2, 4, 10, 25])
        login = a["login"] if rnd.random() > 0.1 else "visitor"
        values = [login, when, rnd.choice(["Contract.pdf", "Slides.pptx", "Scan"]), pages]
        for col, value in enumerate([*values, round(pages * 0.035, 3)], start=1):
            ws.cell(row=row, column=col, value=value)
        ws.cell(row=row, column=2).number_format = "dd/mm/yyyy hh:mm"
        row += 1
    ws.cell(row=row, column=1, value="Total")
    ws.cell(row=row, column=4, value=f"=SUM(D5:D{row - 1})")
    wb.properties.created = wb.properties.modified = dt.datetime(2026, 11, 1, 6, 0)
    wb.save(EX / "manchester-copier.xlsx")


def write_exports(accs: list[dict]) -> None:
    rnd = random.Random(20261031)
    london = [a for a in accs if a["location"] == "London"]
    start = dt.datetime(2026, 10, 1, 8, 0)
    numbers = [
        "01632960123",
        "02079460000",
        "07700900123",
        "0800123456",
        "0033140000000",
        "0061298765432",
        "07700900999",
        "01134960000",
    ]
    lines = ["Date,Time,Extn,Dialled Number,Destination,Duration,Cost,Account"]
    for _ in range(320):
        a = rnd.choice(london)
        when = start + dt.timedelta(minutes=rnd.randrange(0, 30 * 24 * 60))
        number = rnd.choice(numbers)
        secs = rnd.choice([0, 12, 45, 61, 95, 180, 600, 1260])
        cost = f"{secs * 0.0008:.4f}"
        use_code = rnd.random() < 0.6
        ext = a["extension"] if rnd.random() > 0.04 else "299"  # 299 is mapped to nobody
        code = a["pbx_code"] if use_code else ""
        lines.append(
            f"{when:%d/%m/%Y},{when:%H:%M:%S},{ext},{number},Outgoing,"
            f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d},{cost},{code}"
        )
    lines.insert(40, "05/10/2026,09:12:00,201,01632960123,Outgoing,00:01:10,0.0560,41-07")
    lines.insert(90, "07/10/2026,10:00:00,,02079460000,Outgoing,00:02:00,0.0960,")
    lines.insert(150, "bad line without enough fields")
    lines.insert(200, "12/10/2026,11:30:00,203,01632960123,Outgoing,00:03:00,0.1440,4324")
    lines.append("Total calls: 324")
    (EX / "london-pbx.csv").write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")

    # the logger's next export overlaps this one: its last 60 calls, then November's first
    later = random.Random(20261107)
    overlap = [lines[0], *lines[-61:-1]]
    for _ in range(30):
        a = later.choice(london)
        when = dt.datetime(2026, 11, 1, 8, 0) + dt.timedelta(minutes=later.randrange(0, 6 * 1440))
        secs = later.choice([45, 61, 95, 180])
        overlap.append(
            f"{when:%d/%m/%Y},{when:%H:%M:%S},{a['extension']},{later.choice(numbers)},Outgoing,"
            f"00:{secs // 60:02d}:{secs % 60:02d},{secs * 0.0008:.4f},{a['pbx_code']}"
        )
    overlap.append(f"Total calls: {len(overlap) - 1}")
    (EX / "london-pbx-overlap.csv").write_text("\r\n".join(overlap) + "\r\n", encoding="utf-8")

    printers = ["Kyocera 2F", "HP Colour 3F", "Canon Reception"]
    out = []
    for _ in range(180):
        a = rnd.choice(london)
        when = start + dt.timedelta(minutes=rnd.randrange(0, 30 * 24 * 60))
        pages = rnd.choice([0, 1, 2, 3, 5, 8, 12, 40])
        item = "colour" if rnd.random() < 0.3 else "mono"
        login = a["login"] if rnd.random() > 0.05 else "guest"
        out.append(f"{when:%d/%m/%Y %H:%M};{login};{rnd.choice(printers)};{pages};{item}")
    out.insert(20, "14/10/2026 10:05;café;Canon Reception;2;mono")
    (EX / "london-print.csv").write_bytes(("\r\n".join(out) + "\r\n").encode("cp1252"))

    manchester = [a for a in accs if a["location"] == "Manchester"]
    write_copier_report(manchester, start, random.Random(23))  # its own: the others stay
    rows = ["Code,Date,Description,Quantity,Cost,Item"]
    for _ in range(70):
        a = rnd.choice(manchester)
        day = dt.date(2026, 10, 1) + dt.timedelta(days=rnd.randrange(0, 31))
        if rnd.random() < 0.2:
            rows.append(
                f"{a['room_code']},{day.isoformat()},Sandwich platter,1,"
                f"{rnd.choice(['18.50', '24.00', '31.75'])},catering"
            )
        else:
            hours = rnd.choice(["1", "1.5", "2", "3", "4"])
            rows.append(f"{a['room_code']},{day.isoformat()},Boardroom,{hours},0,")
    rows.append(f"{london[0]['room_code']},2026-10-09,Boardroom,2,0,")
    rows.append("ZZTOP,2026-10-10,Boardroom,1,0,")
    # a cancelled order refunded by the caterer: billed as a credit
    rows.append(f"{manchester[0]['room_code']},2026-10-20,Catering refund,1,-18.50,catering")
    (EX / "manchester-rooms.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


if __name__ == "__main__":
    from samples.devices import write_device_exports

    EX.mkdir(parents=True, exist_ok=True)
    accs = write_workbooks()
    write_exports(accs)
    write_device_exports(accs, EX)
    print(f"wrote {WB} and {EX}")
