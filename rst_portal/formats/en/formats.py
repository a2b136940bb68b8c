"""Django's English formats, with the zone after every date and time (FORMAT_MODULE_PATH).

A time read without its zone is misread across six of them: "5:28 p.m. EST", not
"5:28 p.m.". Templates and the admin render datetimes in the active zone (the staff
member's, accounts.middleware.StaffTimeZoneMiddleware), and "T" names that zone.
"""

DATETIME_FORMAT = "N j, Y, P T"
SHORT_DATETIME_FORMAT = "m/d/Y P T"
