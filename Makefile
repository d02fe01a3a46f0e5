# copernica_fdw: PostgreSQL foreign data wrapper for the Copernica REST API v2

MODULE_big = copernica_fdw
OBJS = $(patsubst %.c,%.o,$(wildcard src/*.c))

EXTENSION = copernica_fdw
DATA = copernica_fdw--1.0.sql
PGFILEDESC = "copernica_fdw - foreign data wrapper for Copernica"

SHLIB_LINK_INTERNAL = $(libpq)
SHLIB_LINK = $(shell curl-config --libs)
PG_CPPFLAGS = -Isrc $(shell curl-config --cflags)

# The regression suite runs in schedule order against a live emulator; the
# test driver (test/run-tests.sh) sets it up.
REGRESS_OPTS = --schedule=test/schedule --inputdir=. --outputdir=test/results

# Extra warnings for everyone; the test build adds -Werror via COPT.
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# every source includes the one private header: rebuild all when it changes
$(OBJS): src/copernica_fdw.h
