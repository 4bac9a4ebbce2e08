# userspace/LAYER/*.c -> build/rempart.  One folder per layer (userspace/LAYERS),
# one .c per concern; cli/main.c holds the command table.  Includes name
# their folder ("lib/log.h"), found through -iquote userspace.  The
# embeddable-wg-library is compiled from where Debian's wireguard-tools
# installs it, as its own translation unit.
US_SRCS    := $(sort $(shell find userspace -name '*.c'))
US_HDRS    := $(sort $(shell find userspace -name '*.h'))
US_OBJS    := $(patsubst userspace/%.c,$(BUILD)/us/%.o,$(US_SRCS))
WG_EMBED_OBJ := $(BUILD)/us/embeddable-wg.o

CFLAGS_WARN := -Wall -Wextra -Werror -Wno-unused-parameter
US_CFLAGS  ?= -O2 -g
US_CPPFLAGS := -D_GNU_SOURCE -iquote userspace -I bpf -I $(BUILD)/bpf -I $(WG_EMBED_DIR)
US_LDLIBS  := -lbpf -lelf -lz -lmnl -liniparser -lmaxminddb -ljson-c \
	-lcrypto -lm

$(BUILD)/us/%.o: userspace/%.c $(US_HDRS) $(BPF_HDRS) $(BPF_SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(US_CFLAGS) $(CFLAGS_WARN) $(US_CPPFLAGS) -MMD -c $< -o $@

# Not our code: built with its own (relaxed) warnings, never edited or copied.
$(WG_EMBED_OBJ): $(WG_EMBED_DIR)/wireguard.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O2 -g -D_GNU_SOURCE -w -c $< -o $@

# The binary links every object.
$(BUILD)/rempart: $(US_OBJS) $(WG_EMBED_OBJ)
	$(call msg,LD,$@)
	$(Q)$(CC) $(US_CFLAGS) -o $@ $^ $(US_LDLIBS)

# The version: `git describe` in a git checkout, the VERSION file of a
# release tarball (`make dist` writes it), else "unknown".  version.o is
# rebuilt when the string changes (build/version.txt).
RP_VERSION := $(or $(shell [ -e .git ] && git describe --always --dirty 2>/dev/null),\
	$(shell cat VERSION 2>/dev/null),unknown)

$(BUILD)/version.txt: FORCE
	$(Q)mkdir -p $(@D) && { echo '$(RP_VERSION)' | cmp -s - $@ || echo '$(RP_VERSION)' > $@; }

$(BUILD)/us/lib/version.o: $(BUILD)/version.txt
$(BUILD)/us/lib/version.o: US_CPPFLAGS += -DRP_VERSION='"$(RP_VERSION)"'

.PHONY: FORCE version dist
FORCE:
version:
	@echo '$(RP_VERSION)'

# A release tarball: the tree at HEAD and a VERSION file.
dist:
	$(Q)mkdir -p $(BUILD) && echo '$(RP_VERSION)' > $(BUILD)/VERSION
	$(Q)git archive --format=tar.gz --prefix=rempart-$(RP_VERSION)/ \
		--add-file=$(BUILD)/VERSION -o $(BUILD)/rempart-$(RP_VERSION).tar.gz HEAD
	@echo $(BUILD)/rempart-$(RP_VERSION).tar.gz

# One archive per layer for the tests and benches (mk/tests.mk names what
# each links): DIR/lib<folder>.a, kernel/wg's DIR/libkernel-wg.a, without
# cli/main.c; lib's holds the embeddable-wg-library too (lib/keys.c uses
# it).  US_LAYERS_DOWN: the folders of userspace/LAYERS from the top down,
# the order a link takes them in.
US_LAYERS_DOWN := $(shell sed 's/\#.*//' userspace/LAYERS | tac | \
	awk '{ for (i = NF; i > 0; i--) if ($$i != "<") print $$i }')
layer_ar = $(1)/lib$(subst /,-,$(2)).a
layer_objs = $(patsubst userspace/%.c,$(1)/%.o,$(filter-out userspace/cli/main.c, \
	$(foreach s,$(US_SRCS),$(if $(filter userspace/$(2)/,$(dir $(s))),$(s)))))
define LAYER_AR_RULE
$(call layer_ar,$(1),$(2)): $(call layer_objs,$(1),$(2)) $(if $(filter lib,$(2)),$(WG_EMBED_OBJ))
	$$(call msg,AR,$$@)
	$$(Q)rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach l,$(US_LAYERS_DOWN),$(eval $(call LAYER_AR_RULE,$(BUILD)/us,$(l))))

-include $(US_OBJS:.o=.d)
