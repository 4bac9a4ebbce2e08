# userspace/LAYER/*.c -> build/rempart.  One folder per layer (userspace/LAYERS),
# one .c per concern; cli/main.c holds the command table.  Includes name
# their folder ("lib/log.h"), found through -iquote userspace.  The
# embeddable-wg-library is compiled from where Debian's wireguard-tools
# installs it, as its own translation unit.
US_SRCS    := $(sort $(shell find userspace -name '*.c'))
US_HDRS    := $(sort $(shell find userspace -name '*.h'))
US_OBJS    := $(patsubst userspace/%.c,$(BUILD)/us/%.o,$(US_SRCS))
US_LIB_OBJS := $(filter-out $(BUILD)/us/cli/main.o,$(US_OBJS))
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

$(BUILD)/librempart.a: $(US_LIB_OBJS) $(WG_EMBED_OBJ)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# The binary links every object (the archive is for the tests).
$(BUILD)/rempart: $(US_OBJS) $(WG_EMBED_OBJ)
	$(call msg,LD,$@)
	$(Q)$(CC) $(US_CFLAGS) -o $@ $^ $(US_LDLIBS)

-include $(US_OBJS:.o=.d)
