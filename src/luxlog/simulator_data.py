"""Real controller dumps the simulator's profiles start from (calibration, not test fixtures).

Each blob is ``base64(zlib(params as >i, calcs as >i, visibilities as >b))`` of one complete,
unmodified 3003/3004/3005 read, so a profile's lengths, constant parameters, IP fields, error
history and visibility map are exactly what real firmware sent:

* ``V3_78``: Bouni/Luxtronik-2 ``example-data.txt`` (MIT), firmware V3.78, MSW 6 brine/water
  with heat meter, 2016-12-28: 1075 parameters, 232 calculations, 327 visibilities.
* ``V1_80``: coolchip/luxtronik2 ``test/data/3003..3005`` (MIT), raw TCP replies of a V1.80
  L1A air/water unit without heat meter, 2017-07-26: 1086 / 200 / 336 (calcs 19/20 = -500,
  the "sensor not fitted" sentinel).
* ``V3_90_TAIL``: calculations 254-274 of a V3.90.3 inverter unit (python-luxtronik PR #193):
  254 flow 597 l/h, 257 Heat_Output 2541 W, 268 AC_Power_Input 531 W; the block ends at 274.
"""

from __future__ import annotations

import base64
import struct
import zlib

V3_78_LENGTHS = (1075, 232, 327)
V3_78 = (
    "eNrtWD1oFEEUfi97hzn1LkGuicVFLETkEHNBchwJJoLBQhBRktFCxKydlUQQq9QhhY3xByy0EFGMFiktxEIOK39CDGK0"
    "ELVRYpHChMD5Zvft7tu53ctKrOJ+3Hfz92bmzZvdmfcWwEEXAC5DgMyRm8dB00Oj0aiyTN2twbPhvFNOgraYfCsgU2OY"
    "2EG0qPtkWGzfAdFF63Qq0C2KsJpw/qPEUnzzlvtiSc8CnfEF9yuR/c7pOV076rpskdKKsHt/i+UvR1TWeSyNmvO/47Jn"
    "U3TtAxkhv5dYZP147kjUmbq9EjwDUge5935Z7GnbBKW2QeB5SbxrUMg/hBQpUqRIkSLF5sZQ7yOHPjpfsw/1c+OD4zVN"
    "03clZJnaJysIn/IO+VAfiYvED8RXxHniGrXtInbrPPE78RP3y5lU9p52ZQ/cVmPv7qqxpcfKzpdZdjsMrPSAVbuqC55e"
    "kjTuD48xi+qMqnz+QG2jPjptEJH9vlwMJYrsC65ny1Y+Hhh+nbMOw+b/G644zK/ec0r58/Nxhp37PHOaXWUdr8y6tScm"
    "TJsKO5M3vzIsYiDC9RH9P7r765QI246JZ7vIfWdj9t9KDyPfvtPEb2S2shEHVTiGQiOEneTYEQ27TkeMnyexGT6byhHt"
    "/RF7lFRvO/SMJEN7REx9pkXcbQtZW6Rm3o5ZWxS2GuWOwFr8/rgySdblxav1wZ5fFzWN9kzzfYAviU/d+By/6L2h82uB"
    "SHuKvznW1TH9DcrTe4ZqnW8TZoot5DZ2dzbdk3x/6jZx18R/W7Hec/pWVNZYP31H6nOll7if2EesJrl/1MnxNVUbP6yq"
    "uSnVV+pWBwsLpMKbZjpz/M0dKuxqzRnfXDCJfZU9dCmh/ePPRBx5AlBYcvMXFv/xGcS64SiXbxEPkano7s/u3CwHLfKb"
    "gW7BgZe6BbYFZz0B5yfeLVOehwnaAVHMGUiC7MdTA5it6BVCugllMDwoCP3kuhI+neAp7i8VvYIvgLL7H2BD5pQ="
)

V1_80_LENGTHS = (1086, 200, 336)
V1_80 = (
    "eNrtWE1oE0EUfrNJLWn9KZKDnrxIK0VLjRcPFUQwqFRUENlFKCgexFMRGuIPKv5UUCs9BfHsoVSoCkUEFUQvC3qQInjw"
    "4E2EFi3oyUPXNzNvN28nu9msBi1pHnzz++bN+5nsvAmAT+InFlmEJeu99w6BhE+e5+1EnovYdIl/JNxW/XokqLbYWDaC"
    "h8OKGC8i1pGoW4ZsTr9weCviKOIsYhIxg3hN7RHNA/sQGxpAHhoirpPcS60rov8W5J7Sj4gBgA45XiC/r0IMxfiLZPYP"
    "GvOujomiTlWuH/P9K9dmDP9u0bpYL0inQowBLkHOF6pnQOkJtbEP+twHvVicMsBsWtvDmKe1/SdHQfQdrlWnVcdb2ba2"
    "zW1q0zIj/PYW8XyOXgGYWwSxcXc8a1q++48Bnr7X/N2Df8/XbP3+F1+SvSuQvj/aoyBpzXAfPIBjeqJ3oglHXOZ1kyx3"
    "9fOfDoJgeYts70eMEzBecJ5wAXGdcANxE+HndTkj38w5pV2bnNKbaaf0ccopbz7tjN2dCHifz7+EHecOyo6vF4fMC33E"
    "GNUTkSfDq6n+LK6Rtcfy6pyRX0dRnnLBJF8m5HihvE7Zwd8LK5DKhET68HnGQX+dwVDZ2J3V7j2C5y/zVaPGzw1Sdpid"
    "7TytnY2Jf6b9MQr8W0F80e/F0DuoQL89UfseU29Hy/Br5Q/2H6IYiX9kb9cy8HkaHZL84lah3vaEpqVNeD+Joo6t2Ib1"
    "HOI24hKG/6p8F3ve0moJOhNuCpuE0U5re/17lt+p/K6Vc+xeiqfjB7QWzjwb7CS95H0q5W1HDCDkfxGROY55V+Fd+dBe"
    "fHbC/nZtyV7oHrc/VX6gL98h3oah9khz3zJfku5hX2YIsX51ypefxM933WGdlv5+Cn0yVYWlIr8WNE0cus95fBHVFVoc"
    "k0AFYw/mTZGaD0L7MlWCndiKsHS+BxhtERfrOqOC9w0BIszkbyB+AyjLE3A="
)

V3_90_TAIL: dict[int, int] = {
    254: 597,
    255: 0,
    256: 7,
    257: 2541,
    258: 0,
    259: 0,
    260: 0,
    261: 5,
    262: 2,
    263: 0,
    264: 0,
    265: 295,
    266: 0,
    267: 0,
    268: 531,
    269: 0,
    270: 0,
    271: 0,
    272: 0,
    273: 0,
    274: 0,
}


def decode(blob: str, lengths: tuple[int, int, int]) -> tuple[list[int], list[int], list[int]]:
    """Unpack one embedded dump into (parameters, calculations, visibilities)."""
    n_p, n_c, n_v = lengths
    raw = zlib.decompress(base64.b64decode(blob))
    params = list(struct.unpack_from(f">{n_p}i", raw, 0))
    calcs = list(struct.unpack_from(f">{n_c}i", raw, 4 * n_p))
    vis = list(struct.unpack_from(f">{n_v}b", raw, 4 * (n_p + n_c)))
    return params, calcs, vis
