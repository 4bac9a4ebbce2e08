# demo: the network lab of tests/lab (docs/lab.md) and its traffic
# matrix; demo-down removes all of it.  Running `make demo` again tears the
# previous lab down first.  LAB_CONFIG_SRC=dir uses another lab config.
.PHONY: demo demo-down demo-status
demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(abspath $(BUILD)) tests/lab/demo.sh

demo-down:
	$(Q)BUILD=$(abspath $(BUILD)) tests/lab/lab.sh down

demo-status:
	$(Q)BUILD=$(abspath $(BUILD)) tests/lab/lab.sh status
