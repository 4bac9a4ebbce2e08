# deps: every build, test and image dependency, from Debian.  Idempotent and
# quick when everything is there (dpkg-query first, apt-get only if needed).
DEB_PACKAGES := \
	make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config \
	libmnl-dev libiniparser-dev libmaxminddb-dev libjson-c-dev \
	libmicrohttpd-dev libsystemd-dev libqrencode-dev libssl-dev libclang-rt-14-dev \
	wireguard-tools wireguard-go tor-geoipdb iproute2 nftables iptables ipset \
	python3 python3-scapy tcpdump prometheus systemd procps psmisc kmod \
	netcat-openbsd socat iputils-ping curl groff-base man-db bash-completion \
	ethtool iperf3 cpio patch keepalived conntrack conntrackd

# bench/plot.py draws make bench's figures; make check installs it too, so
# that its suite (benchplot) runs rather than skips.
BENCH_DEB_PACKAGES := python3-matplotlib
DEB_PACKAGES += $(BENCH_DEB_PACKAGES)

.PHONY: deps
deps:
	$(Q)missing=$$(for p in $(DEB_PACKAGES) $(EXTRA_DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "  DEPS     installing:" $$missing; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	fi
