# sm - Sync Manager for real-estate listing data.  See README.

PREFIX = /usr/local
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man
DESTDIR =

CC ?= cc
CFLAGS ?= -O2 -g
# Warnings fail the build here; a packager whose compiler warns of more
# builds with "make WERROR=".
WERROR = -Werror
SM_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra $(WERROR) \
	-Ilib $(shell pkg-config --cflags sqlite3 yaml-0.1 libsodium libxxhash \
	libpq libcurl 2>/dev/null)
LIBS = $(shell pkg-config --libs sqlite3 yaml-0.1 libsodium libxxhash libpq \
	libcurl 2>/dev/null) \
	-ljq -lm -lpthread
HTTPD_CFLAGS = $(shell pkg-config --cflags libmicrohttpd 2>/dev/null)
HTTPD_LIBS = $(shell pkg-config --libs libmicrohttpd 2>/dev/null)

# The Debian packages the build and the tests need (installed by "make deps";
# xxhash gives xxh128sum, cron gives crontab to check the examples, hugo
# builds the website of the files driver's test, postgresql is the server
# the tests of the PostgreSQL driver start, nodejs and npm run and install
# the npm packages of t/js: make node-deps), chromium is the browser
# t/7100-desk-browser.t drives through the conflict desk, systemd gives
# systemd-analyze to verify the units of examples/systemd, nginx and openssl
# put TLS in front of json-server for t/8402).
DEB_PACKAGES = build-essential pkg-config libsqlite3-dev libjq-dev \
	libxxhash-dev libyaml-dev libsodium-dev libmicrohttpd-dev \
	sqlite3 jq mandoc perl curl valgrind xxhash cron python3-requests \
	bc procps hugo postgresql libpq-dev libcurl4-openssl-dev nodejs npm \
	chromium systemd nginx openssl

# Test tiers.  make test is the fast tier (at most 90 s on 2 cores), before
# every commit: all of t/ but SLOW_TESTS (a burst of 200 requests,
# hostile clients and inputs, crash and kill loops, signals at random
# moments, valgrind, a browser, and the longest end-to-end runs: the
# reader's limits, the original product's clients, sm-push into
# PostgreSQL; their parts are in the fast tier too: t/2000, t/7001,
# t/8100).
# make check is everything: make test,
# then SLOW_TESTS, then the whole suite under the sanitizers (check-asan,
# below); CI runs it.
SLOW_TESTS = t/2003-sm-import-reader.t t/7002-sm-serve-burst.t \
	t/7003-sm-serve-hostile.t t/7005-sm-serve-seed-clients.t \
	t/8101-sm-push-pg.t t/9100-crash.t t/9101-signals-commit.t \
	t/9102-push-kill.t \
	t/9103-push-pg-kill.t t/9104-push-http-kill.t t/9300-hostile.t \
	t/9301-hostile-maps.t t/9400-valgrind.t t/7100-desk-browser.t
FAST_TESTS = $(filter-out $(SLOW_TESTS), $(wildcard t/*.t))

# sm.h is the library as front ends see it; sm-private.h is lib's own
# plumbing, included by lib/ and t/ only.
HDR = lib/sm.h
PRIV_HDR = lib/sm-private.h lib/driver.h
LIB_SRC = $(filter-out lib/schema.c, $(wildcard lib/*.c)) lib/schema.c
LIB_OBJ = $(LIB_SRC:.c=.o)
# The HTTP front end, an archive of its own: only sm-serve links it (and
# libmicrohttpd).  openapi.c and docs.c are made from data files.
API_HDR = lib/api/api.h lib/api/sm-api.h
API_GEN = lib/api/openapi.c lib/api/docs.c lib/api/desk-html.c \
	lib/api/desk-js.c lib/api/desk-css.c
API_SRC = $(filter-out $(API_GEN), $(wildcard lib/api/*.c)) $(API_GEN)
API_OBJ = $(API_SRC:.c=.o)
# The commands' own layer (bin/cli.h): options, usage, progress, stdout.
CLI_HDR = bin/cli.h
CLI_SRC = $(filter-out bin/sm-%, $(wildcard bin/*.c))
CLI_OBJ = $(CLI_SRC:.c=.o)
BIN_SRC = $(wildcard bin/sm-*.c)
BIN = $(BIN_SRC:.c=)
UNIT_SRC = $(wildcard t/unit-*.c)
UNIT = $(UNIT_SRC:.c=)
SCHEMA = $(sort $(wildcard schema/[0-9][0-9][0-9]-*.sql))
MAN1 = $(wildcard man/*.1)
MAN5 = $(wildcard man/*.5)
MAN7 = $(wildcard man/*.7)

all: $(BIN)

# Every object depends on the Makefile too: a change of flags rebuilds.
lib/%.o: lib/%.c $(HDR) $(PRIV_HDR) Makefile
	$(CC) $(SM_CFLAGS) $(CFLAGS) -c -o $@ $<

# The migrations, embedded as C strings: SQL stays plain SQL in schema/.
lib/schema.c: $(SCHEMA) Makefile
	@{ echo '/* Generated from the schema directory by make: do not edit. */'; \
	echo '#include "sm-private.h"'; \
	echo 'const struct sm_migration sm_migrations[] = {'; \
	for f in $(SCHEMA); do \
		n=$$(basename $$f .sql); v=$$(echo $$n | sed 's/-.*//; s/^0*//'); \
		echo "{ $$v, \"$$n\","; \
		sed 's/\\/\\\\/g; s/"/\\"/g; s/	/\\t/g; s/^/"/; s/$$/\\n"/' $$f; \
		echo '},'; \
	done; \
	echo '};'; \
	echo 'const size_t sm_nmigrations = sizeof(sm_migrations) / sizeof(sm_migrations[0]);'; \
	} > $@.tmp && mv $@.tmp $@

# A data file as a C string: $(EMBED) NAME FILE >OUT.c (see lib/embed.sh).
EMBED = sh lib/embed.sh

lib/api/openapi.c: schema/openapi.json lib/embed.sh
	$(EMBED) sm_api_openapi_text schema/openapi.json >$@.tmp && mv $@.tmp $@

lib/api/docs.c: lib/www/docs.html lib/embed.sh
	$(EMBED) sm_api_docs_html lib/www/docs.html >$@.tmp && mv $@.tmp $@

# The conflict desk: its page, script and style sheet (GET /, /desk.js,
# /desk.css).
lib/api/desk-html.c: lib/www/desk.html lib/embed.sh
	$(EMBED) sm_api_desk_html lib/www/desk.html >$@.tmp && mv $@.tmp $@

lib/api/desk-js.c: lib/www/desk.js lib/embed.sh
	$(EMBED) sm_api_desk_js lib/www/desk.js >$@.tmp && mv $@.tmp $@

lib/api/desk-css.c: lib/www/desk.css lib/embed.sh
	$(EMBED) sm_api_desk_css lib/www/desk.css >$@.tmp && mv $@.tmp $@

lib/api/%.o: lib/api/%.c $(HDR) $(API_HDR) Makefile
	$(CC) $(SM_CFLAGS) $(HTTPD_CFLAGS) $(CFLAGS) -c -o $@ $<

lib/api/libsmapi.a: $(API_OBJ)
	rm -f $@
	$(AR) rc $@ $(API_OBJ)
	ranlib $@

lib/libsm.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rc $@ $(LIB_OBJ)
	ranlib $@

bin/%.o: bin/%.c $(CLI_HDR) $(HDR) Makefile
	$(CC) $(SM_CFLAGS) $(CFLAGS) -c -o $@ $<

bin/libcli.a: $(CLI_OBJ)
	rm -f $@
	$(AR) rc $@ $(CLI_OBJ)
	ranlib $@

bin/sm-serve: bin/sm-serve.c bin/libcli.a lib/api/libsmapi.a lib/libsm.a \
    $(CLI_HDR) $(HDR) lib/api/sm-api.h Makefile
	$(CC) $(SM_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< bin/libcli.a \
	    lib/api/libsmapi.a lib/libsm.a $(LIBS) $(HTTPD_LIBS)

bin/sm-%: bin/sm-%.c bin/libcli.a lib/libsm.a $(CLI_HDR) $(HDR) Makefile
	$(CC) $(SM_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< bin/libcli.a \
	    lib/libsm.a $(LIBS)

t/unit-%: t/unit-%.c t/tap.h t/fastrec-compare.h lib/libsm.a $(HDR) \
    $(PRIV_HDR) Makefile
	$(CC) $(SM_CFLAGS) $(CFLAGS) $(LDFLAGS) -It -o $@ $< lib/libsm.a $(LIBS)

# Nothing at all when the libraries and tools of DEB_PACKAGES are here;
# else installs the missing ones with apt-get (root, or sudo), or names
# them where there is no apt-get (t/deps.sh).
deps:
	@CC="$(CC)" sh t/deps.sh $(DEB_PACKAGES)

# The npm packages the tests start (t/js/package.json), into t/js/node_modules.
node-deps: deps
	@sh t/js/install.sh

test: deps node-deps
	$(MAKE) all units
	mandoc -T lint -W warning $(MAN1) $(MAN5) $(MAN7)
	PATH="$$PWD/bin:$$PATH" prove -j2 $(FAST_TESTS) </dev/null

check: test
	PATH="$$PWD/bin:$$PATH" prove $(SLOW_TESTS) </dev/null
	$(MAKE) check-asan

units: $(UNIT)

demo: deps
	$(MAKE) all
	sh examples/demo.sh

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	for f in $(BIN); do install -m 0755 $$f $(DESTDIR)$(BINDIR); done
	for f in $(MAN1); do install -m 0644 $$f $(DESTDIR)$(MANDIR)/man1; done
	for f in $(MAN5); do install -m 0644 $$f $(DESTDIR)$(MANDIR)/man5; done
	for f in $(MAN7); do install -m 0644 $$f $(DESTDIR)$(MANDIR)/man7; done

uninstall:
	for f in $(BIN); do rm -f $(DESTDIR)$(BINDIR)/$${f#bin/}; done
	for f in $(MAN1); do rm -f $(DESTDIR)$(MANDIR)/man1/$${f#man/}; done
	for f in $(MAN5); do rm -f $(DESTDIR)$(MANDIR)/man5/$${f#man/}; done
	for f in $(MAN7); do rm -f $(DESTDIR)$(MANDIR)/man7/$${f#man/}; done

clean:
	rm -f lib/*.o lib/libsm.a lib/schema.c lib/api/*.o lib/api/libsmapi.a \
	    $(API_GEN) bin/*.o bin/libcli.a $(BIN) $(UNIT)

.PHONY: all deps node-deps test check units demo install uninstall clean

# make bench: BENCH_N generated listings through the commands and through
# jq, sqlite-utils and sqlite3 for reference, timed; writes BENCH.md (see
# t/bench/run.sh for its knobs; BENCH_ONLY=http for its HTTP part alone,
# sm-serve under wrk beside nginx; BENCH_ONLY=push for sm-push into
# PostgreSQL beside psql, and to files; BENCH_ONLY=push-http for sm-push
# to json-server beside curl --parallel).  Slow, and not part of make test.
BENCH_N ?= 1000000
BENCH_DEB_PACKAGES = sqlite-utils time jq sqlite3 valgrind linux-perf wrk \
	nginx curl python3 postgresql

bench: all
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(BENCH_DEB_PACKAGES)"
	BENCH_N=$(BENCH_N) CC="$(CC)" BENCH_CFLAGS="$(SM_CFLAGS)" \
	    BENCH_LIBS="$(LIBS)" sh t/bench/run.sh

.PHONY: bench

# make fuzz: the libFuzzer target t/fuzz/fuzz-record.c over the record
# layer, built with clang and the sanitizers into FUZZ_DIR, run for
# FUZZ_SECONDS on a working corpus seeded from t/fuzz/corpus.
# A crash leaves its input as t/fuzz/crash-*: fix, then add it to the
# corpus.  Not part of make test.
FUZZ_CC = clang
FUZZ_SECONDS = 60
FUZZ_DIR = t/fuzz/build

# Only the record layer is linked in; warnings do not fail this build.
FUZZ_SRC = lib/json.c lib/canon.c lib/input.c lib/util.c
FUZZ_CFLAGS = $(filter-out $(WERROR), $(SM_CFLAGS)) -g -O1 \
	-fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined

$(FUZZ_DIR)/fuzz-record: t/fuzz/fuzz-record.c $(FUZZ_SRC) $(HDR) $(PRIV_HDR) \
    Makefile
	mkdir -p $(FUZZ_DIR)/corpus
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ \
	    t/fuzz/fuzz-record.c $(FUZZ_SRC) $(LIBS)

fuzz: $(FUZZ_DIR)/fuzz-record
	$(FUZZ_DIR)/fuzz-record -max_total_time=$(FUZZ_SECONDS) \
	    -max_len=65536 -dict=t/fuzz/json.dict -artifact_prefix=t/fuzz/ \
	    -print_final_stats=1 $(FUZZ_DIR)/corpus t/fuzz/corpus

# make fuzz-fastrec: sm_rec_fast() against the slow path it replaces
# (t/fuzz/fuzz-fastrec.c), with its own working corpus.
$(FUZZ_DIR)/fuzz-fastrec: t/fuzz/fuzz-fastrec.c t/fastrec-compare.h $(FUZZ_SRC) \
    lib/fastrec.c $(HDR) $(PRIV_HDR) Makefile
	mkdir -p $(FUZZ_DIR)/corpus-fastrec
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ \
	    t/fuzz/fuzz-fastrec.c $(FUZZ_SRC) lib/fastrec.c $(LIBS)

fuzz-fastrec: $(FUZZ_DIR)/fuzz-fastrec
	$(FUZZ_DIR)/fuzz-fastrec -max_total_time=$(FUZZ_SECONDS) \
	    -max_len=65536 -dict=t/fuzz/json.dict -artifact_prefix=t/fuzz/ \
	    -print_final_stats=1 $(FUZZ_DIR)/corpus-fastrec t/fuzz/corpus

# make check-asan: the whole suite against a build with AddressSanitizer
# and UBSan (leaks included), made in a copy of the tree so that the
# objects of the normal build are left alone.  The crash and push-kill
# tests run smaller there (they test recovery more than our memory), and
# t/9400-valgrind.t skips.
ASAN_FLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined

check-asan:
	@d=$$(mktemp -d "$${TMPDIR:-/tmp}/sm-asan.XXXXXX") && \
	trap 'rm -rf "$$d"' EXIT INT TERM && \
	mkdir "$$d/main" && \
	tar -cf - --exclude=./.git --exclude=./$(FUZZ_DIR) . | \
	    tar -C "$$d/main" -xf - && \
	ln -s "$$PWD/../shared" "$$d/shared" && \
	$(MAKE) -s -C "$$d/main" clean && \
	$(MAKE) -s -C "$$d/main" all units CFLAGS='$(ASAN_FLAGS)' \
	    LDFLAGS='-fsanitize=address,undefined' && \
	cd "$$d/main" && SM_ASAN=1 CRASH_RECORDS=20000 CRASH_KILLS=4 \
	    PUSH_KILLS=10 \
	    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=87 \
	    PATH="$$PWD/bin:$$PATH" prove --timer t/ </dev/null

# make crash-long: t/9100-crash.t with many more kills over a larger input,
# spread over the whole run (commit included).  Half an hour or more.
crash-long: all
	CRASH_KILLS=100 CRASH_MAX_MS=2000 CRASH_RECORDS=100000 \
	    PATH="$$PWD/bin:$$PATH" prove -v t/9100-crash.t </dev/null

.PHONY: fuzz fuzz-fastrec check-asan crash-long
