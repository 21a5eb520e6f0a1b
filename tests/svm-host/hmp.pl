#!/usr/bin/perl
# hmp.pl SOCKET COMMAND...
#
# Sends each COMMAND to QEMU's human monitor on the unix socket SOCKET and
# prints its reply (run.sh uses it to collect a frozen test host's CPU state
# and to send a serial break for sysrq). perl-base has IO::Socket::UNIX, so
# this needs nothing Debian does not always have. Exit 1 when it cannot connect.
use strict;
use warnings;
use IO::Socket::UNIX;
use IO::Select;

my $path = shift @ARGV;
my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $path)
	or die "hmp: cannot connect to $path: $!\n";
my $sel = IO::Select->new($s);

# Reads until the monitor has been quiet for 0.5 s (first wait: $first s).
sub drain {
	my ($first) = @_;
	my ($buf, $t) = ('', $first);
	while ($sel->can_read($t)) {
		my $n = sysread($s, my $chunk, 65536);
		last unless $n;
		$buf .= $chunk;
		$t = 0.5;
	}
	return $buf;
}

drain(1); # the banner
for my $cmd (@ARGV) {
	print $s "$cmd\n";
	my $out = drain(5);
	$out =~ s/\e\[[0-9;]*[A-Za-z]//g;
	$out =~ s/\r//g;
	my @lines = split /\n/, $out;
	shift @lines;                         # the monitor's echo of the command
	print "$_\n" for grep { $_ !~ /^\(qemu\)/ } @lines;
}
