"""tap.py: TAP result lines for the python helpers of the integration
tests (ok/fail/check), counted so a helper can exit 1 when any failed."""

npass = 0
nfail = 0


def ok(desc):
    global npass
    npass += 1
    print("ok - " + desc, flush=True)


def fail(desc):
    global nfail
    nfail += 1
    print("not ok - " + desc, flush=True)


def check(desc, cond, why=""):
    """ok when cond holds, else not ok with why appended; returns cond."""
    if cond:
        ok(desc)
    else:
        fail(desc + (": " + str(why) if why != "" else ""))
    return cond
