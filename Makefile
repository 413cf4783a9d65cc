# Top-level wrapper: bootstraps autotools into build/ on first use, then
# hands every target to the generated Makefile there.  Run ./configure
# yourself (in build/ or anywhere) to pick options; this wrapper only
# configures when build/Makefile does not exist yet.
BUILD ?= build
CONFIGURE_FLAGS ?=
SUBMAKE = $(MAKE) --no-print-directory -C $(BUILD)

.PHONY: all check check-unit unit-deps run bench install clean distclean fuzz lint
.PHONY: deb rpm
.PHONY: package-test image image-test

all: $(BUILD)/Makefile
	@$(SUBMAKE) all

check: $(BUILD)/Makefile
	@$(MAKE) --no-print-directory unit-deps
	@$(SUBMAKE) check

check-unit: $(BUILD)/Makefile
	@$(MAKE) --no-print-directory unit-deps
	@$(SUBMAKE) check-unit

# build/ configured before the check library was installed (`make run`
# first, then install-deps.sh --test) builds no unit test: configure it
# again, with the options it was given, once the library is there.
# Without the library, build/Makefile's check fails loudly instead.
unit-deps:
	@if grep -q "^HAVE_CHECK_TRUE='#'" $(BUILD)/config.log 2>/dev/null && \
	    pkg-config --exists 'check >= 0.15' 2>/dev/null; then \
		echo "check is installed now: configuring $(BUILD)/ again for the unit tests"; \
		cd $(BUILD) && ./config.status --recheck && ./config.status; \
	fi

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

# Packages from the current tree (packaging/): build/pkg/*.deb and
# build/rpm/RPMS/*/*.rpm.  Neither needs build/ configured.
deb:
	@./packaging/build-deb.sh

rpm:
	@./packaging/build-rpm.sh

# The .deb installed into a booted Debian 12 guest, and the container
# image built offline from it (tests/package/run.sh, contrib/image/).
# Root, debootstrap and the Debian mirror; neither needs build/ configured.
package-test:
	@./tests/package/run.sh

image:
	@./contrib/image/build.sh

image-test:
	@./tests/package/run.sh image

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
