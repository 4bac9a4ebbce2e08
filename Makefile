# rempart — one entry point: deps, all, check, bench, image, demo, install, clean.
# Quiet unless V=1.  Everything built lands in build/.

.DELETE_ON_ERROR:
.DEFAULT_GOAL := all

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BUILD   ?= build
PREFIX  ?= /usr/local
DESTDIR ?=

CC      ?= gcc
CLANG   ?= clang
BPFTOOL ?= bpftool
ARCH    := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

WG_EMBED_DIR ?= /usr/share/doc/wireguard-tools/examples/embeddable-wg-library

include mk/deps.mk
include mk/bpf.mk
include mk/userspace.mk
include mk/tests.mk
-include mk/image.mk
-include mk/bench.mk
-include mk/compare.mk
-include mk/demo.mk
-include mk/configs.mk

.PHONY: all clean install
all: $(BUILD)/rempart

clean:
	$(Q)rm -rf $(BUILD)

install: $(BUILD)/rempart
	install -D -m 0755 $(BUILD)/rempart $(DESTDIR)$(PREFIX)/sbin/rempart
	$(foreach f,$(wildcard dist/*.service),install -D -m 0644 $(f) $(DESTDIR)/lib/systemd/system/$(notdir $(f));)
	$(foreach f,$(wildcard dist/*.8 dist/*.5),install -D -m 0644 $(f) $(DESTDIR)$(PREFIX)/share/man/man$(subst .,,$(suffix $(f)))/$(notdir $(f));)
	$(if $(wildcard dist/rempart.bash-completion),install -D -m 0644 dist/rempart.bash-completion $(DESTDIR)/usr/share/bash-completion/completions/rempart)
