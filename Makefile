# copernica_fdw: PostgreSQL foreign data wrapper for the Copernica REST API v2

MODULE_big = copernica_fdw
OBJS = $(patsubst %.c,%.o,$(wildcard src/*.c))

EXTENSION = copernica_fdw
DATA = copernica_fdw--1.0.sql
PGFILEDESC = "copernica_fdw - foreign data wrapper for Copernica"

# libcurl only; the server provides the rest (its JSON parser included)
SHLIB_LINK = $(shell curl-config --libs)
PG_CPPFLAGS = -Isrc $(shell curl-config --cflags)

# "make installcheck" runs the regression suite (test/schedule, in order)
# against a running server, with the extension installed ("make install") and
# the Copernica emulator started on 127.0.0.1 for the duration of the run
# (test/installcheck-emulator.sh), so the server must be on this machine.
# Run it as the superuser "postgres" (PGUSER=postgres); the tests need
# psql 15 or later.  test/run-tests.sh does all of this in a throwaway
# cluster instead.
REGRESS = $(shell sed -n 's/^test: *//p' test/schedule)
REGRESS_OPTS = --inputdir=. --outputdir=test/results
REGRESS_PREP = installcheck-emulator

# Extra warnings, and -Werror in the test build (via COPT).  Not enabled:
# -Wunused-parameter (FDW callbacks have fixed signatures and most use only
# some of their arguments), -Wmissing-field-initializers (option and type
# tables name only the fields a row needs; the rest are zero by design) and
# -Wsign-compare (PostgreSQL's own types mix signedness: Var.varno is int,
# RelOptInfo.relid is Index, so the usual "var->varno == rel->relid" warns;
# PostgreSQL does not build with it either).
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# every source includes the private header (and it the compatibility one):
# rebuild all when either changes
$(OBJS): src/copernica_fdw.h src/compat.h
src/mailing.o src/mailing_resources.o src/mailing_scan.o src/mailing_fetch.o: src/mailing.h
src/modify.o src/modify_row.o src/modify_insert.o src/modify_write.o src/modify_report.o src/modify_trace.o src/modify_values.o: src/modify.h
src/connection.o src/batch.o src/http.o: src/http_internal.h

# The emulator lives as long as this make ($$PPID in a recipe); the tests
# find it through these variables, read once it has written its port.
.PHONY: installcheck-emulator
installcheck-emulator:
	test/installcheck-emulator.sh $$PPID

emulator_port = $(shell cat test/results/emulator.port 2>/dev/null)
installcheck: export COPERNICA_EMULATOR_URL = http://127.0.0.1:$(emulator_port)/v2
installcheck: export COPERNICA_EMULATOR_CONTROL = http://127.0.0.1:$(emulator_port)
installcheck: export COPERNICA_TOKEN = test-token
installcheck: export EMUCTL = python3 $(CURDIR)/test/emulator/emuctl.py
