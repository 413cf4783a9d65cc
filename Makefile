# Top-level wrapper: bootstraps autotools into build/ on first use, then
# hands every target to the generated Makefile there.  Run ./configure
# yourself (in build/ or anywhere) to pick options; this wrapper only
# configures when build/Makefile does not exist yet.
BUILD ?= build
CONFIGURE_FLAGS ?=
SUBMAKE = $(MAKE) --no-print-directory -C $(BUILD)

.PHONY: all check check-unit run bench install clean distclean fuzz lint

all: $(BUILD)/Makefile
	@$(SUBMAKE) all

check: $(BUILD)/Makefile
	@$(SUBMAKE) check

check-unit: $(BUILD)/Makefile
	@$(SUBMAKE) check-unit

run: $(BUILD)/Makefile
	@$(SUBMAKE) all
	@./contrib/run-local.sh $(BUILD)

bench: $(BUILD)/Makefile
	@$(SUBMAKE) all
	@./tests/bench/run.sh $(BUILD)

install: $(BUILD)/Makefile
	@$(SUBMAKE) install

lint: $(BUILD)/Makefile
	@$(SUBMAKE) lint

fuzz:
	@./tests/fuzz/run.sh

clean:
	@if [ -f $(BUILD)/Makefile ]; then $(SUBMAKE) clean; fi

distclean:
	rm -rf $(BUILD) autom4te.cache build-aux aclocal.m4 configure pwbuild.h.in pwbuild.h.in~ Makefile.in

configure: configure.ac Makefile.am
	autoreconf -fi

$(BUILD)/Makefile: configure
	mkdir -p $(BUILD)
	cd $(BUILD) && ../configure $(CONFIGURE_FLAGS)
