"""Shared test support: fault-injection helpers and fakes of the far side (network, clock).

One module per kind of fault, so later tests reuse them instead of re-writing them:
``resolver`` (a DNS server that never answers), ``loopfs`` (small loop-mounted
filesystems), ``clock`` (clock jumps for subprocesses).
"""
