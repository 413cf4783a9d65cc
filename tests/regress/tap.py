"""tap.py: TAP result lines for the python helpers of the integration
tests (ok/fail/check), counted so a helper can exit 1 when any failed, and
run_guarded, which turns a helper's crash into a failure."""

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


def run_guarded(what, fn):
    try:
        fn()
    except Exception as ex:  # a crash is a failure, said as one
        import traceback
        for line in traceback.format_exc().splitlines():
            print("# " + line)
        fail("%s: checks ran to the end (%s: %s)" % (what,
                                                     type(ex).__name__, ex))
