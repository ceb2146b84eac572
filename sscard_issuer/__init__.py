"""sscard-issuer: issue and read China's third-generation social security card.

Layers (imports go down only; see ../shared/DESIGN.md):

    cli                      interfaces
    card                     domain: the declarative card model, codecs, identifiers, reader
    apdu                     protocol: command/response APDUs, BER-TLV, status words (no I/O)
    crypto, keys             primitives: block ciphers, MACs, diversification; the key store
    transport, sim           edges: PC/SC through pyscard, in-process; the card simulator
"""

__version__ = "0.1.0"
