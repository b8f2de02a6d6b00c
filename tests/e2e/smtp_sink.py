"""A real SMTP server (aiosmtpd) for the incident notices test that can die
on cue, as a mail server does when it crashes mid-run.

Every accepted message is stored in DIR/maildir, and its envelope recipients
are appended to DIR/recipients.log (one line each, written before the 250
reply), so the test counts what the server took per recipient.

  /usr/bin/python3 smtp_sink.py PORT DIR [--die-after N] [--die-before-reply N]
                                          [--no-maildir]

--die-after N         after N messages accepted by this process, the next
                      MAIL FROM kills it (no reply): the message was not taken.
--die-before-reply N  the Nth message is stored and logged, then the process
                      dies without answering the end of DATA: the client
                      cannot know the message was taken.
--no-maildir          log the recipients only (benchmarks: the server's own
                      writes are then not what is measured).

Runs until SIGTERM or SIGINT. Run with Debian's /usr/bin/python3 (a python3
earlier on PATH may lack aiosmtpd).
"""

import argparse
import os
import signal

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox


class Sink(Mailbox):
    def __init__(self, directory, die_after, die_before_reply, keep):
        super().__init__(os.path.join(directory, "maildir"))
        self.keep = keep
        self.log = open(os.path.join(directory, "recipients.log"), "a", buffering=1)
        self.accepted = 0
        self.die_after = die_after
        self.die_before_reply = die_before_reply

    async def handle_MAIL(self, server, session, envelope, address, options):
        if self.die_after and self.accepted >= self.die_after:
            os._exit(3)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        result = "250 OK"
        if self.keep:
            result = await super().handle_DATA(server, session, envelope)
        for rcpt in envelope.rcpt_tos:
            self.log.write(rcpt + "\n")
        self.accepted += 1
        if self.die_before_reply and self.accepted == self.die_before_reply:
            os._exit(4)
        return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("directory")
    parser.add_argument("--die-after", type=int, default=0)
    parser.add_argument("--die-before-reply", type=int, default=0)
    parser.add_argument("--no-maildir", action="store_true")
    args = parser.parse_args()
    os.makedirs(args.directory, exist_ok=True)
    handler = Sink(args.directory, args.die_after, args.die_before_reply, not args.no_maildir)
    controller = Controller(handler, hostname="127.0.0.1", port=args.port)
    controller.start()
    signal.sigwait([signal.SIGTERM, signal.SIGINT])
    controller.stop()


if __name__ == "__main__":
    main()
