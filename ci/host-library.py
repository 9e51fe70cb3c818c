"""python-gsmmodem against the emulator: what a host library does first.

Usage: host-library.py PTY_PATH. Prints each result; exits non-zero on the
first failure. The emulator must deliver "+33612345678: hello from the
network" a few seconds after it started (ci/host-library.sh does).
"""
import logging
import os
import sys
import threading

from gsmmodem.modem import GsmModem

EXPECTED_FROM = "+33612345678"
EXPECTED_TEXT = "hello from the network"


def main(port):
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", level=logging.DEBUG if os.environ.get("MTG_HOST_DEBUG") else logging.WARNING)
    received = []
    arrived = threading.Event()

    def on_sms(sms):
        received.append(sms)
        arrived.set()

    modem = GsmModem(port, 115200, smsReceivedCallbackFunc=on_sms)
    modem.connect()
    print("connect():        ok")
    try:
        print("manufacturer:    ", modem.manufacturer)
        print("model:           ", modem.model)
        print("revision:        ", modem.revision)
        print("IMEI:            ", modem.imei)
        print("IMSI:            ", modem.imsi)
        print("signal (0-31):   ", modem.signalStrength)
        print("network:         ", modem.networkName)
        print("SMS centre:      ", modem.smsc)
        print("own number:      ", modem.ownNumber)
        print("network ready:   ", modem.waitForNetworkCoverage(10))
        assert modem.manufacturer and modem.imei, "no identity"
        assert 0 <= modem.signalStrength <= 31, "no signal"
        assert modem.networkName, "no network name"

        modem.smsTextMode = True
        sent = modem.sendSms("+15555550199", "hello from the host")
        print("sendSms (text):   reference", sent.reference, "status", sent.status)

        modem.smsTextMode = False
        sent = modem.sendSms("+15555550199", "hello in PDU mode")
        print("sendSms (PDU):    reference", sent.reference, "status", sent.status)

        if not arrived.wait(30):
            raise AssertionError("no incoming SMS within 30 s")
        sms = received[0]
        print("received SMS:     from", sms.number, "at", sms.time, "text", repr(sms.text))
        assert sms.number == EXPECTED_FROM, sms.number
        assert sms.text == EXPECTED_TEXT, sms.text
        # The callback path deletes the message after reading it.
        print("stored after read:", modem.listStoredSms(status=4))
    finally:
        modem.close()
    print("python-gsmmodem: all good")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
