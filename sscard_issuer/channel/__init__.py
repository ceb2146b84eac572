"""GlobalPlatform secure channels (SCP02, SCP03) and EMV CPS personalisation data, sans I/O.

Pure protocol: :class:`HostChannel` (the terminal) and :class:`CardChannel` (the simulated card's
security domain) are small state machines that take and return APDUs; a transport moves them.
Static keys come as :class:`StaticKeys` (masked in ``repr``), diversified from a master key by
:func:`diversify`. :mod:`~sscard_issuer.channel.cps` encodes DGIs and cuts STORE DATA blocks.
"""

from sscard_issuer.channel.card import CardChannel
from sscard_issuer.channel.commands import (
    ISD_AID,
    SW_MORE_ENTRIES,
    SW_NO_ENTRIES,
    RegistryEntry,
    RegistryKind,
    aid_prefix_of,
    decode_status,
    get_status,
    install_for_personalization,
    personalization_target,
)
from sscard_issuer.channel.cps import (
    CpsError,
    Dgi,
    StoreDataBlock,
    StoreDataReceiver,
    count_store_data_blocks,
    decode_dgis,
    encode_dgis,
    is_sensitive,
    store_data_block_count,
    store_data_commands,
)
from sscard_issuer.channel.diversify import DiversificationTemplate, diversify
from sscard_issuer.channel.errors import (
    CardAuthenticationFailed,
    ChannelClosed,
    ChannelError,
    ChannelUsageError,
    CommandMacInvalid,
    ExternalAuthenticationRejected,
    HostAuthenticationFailed,
    KeyVersionNotFound,
    MalformedResponse,
    ResponseMacInvalid,
    SecurityLevelNotSupported,
)
from sscard_issuer.channel.host import HostChannel
from sscard_issuer.channel.initialize import CardChallenge
from sscard_issuer.channel.keys import SessionKeys, StaticKeys, gp_check_value
from sscard_issuer.channel.params import (
    Scp,
    SecurityLevel,
    check_i,
    level_offered,
    max_command_data,
    pseudo_random_challenge,
)
from sscard_issuer.channel.scp03 import pseudo_random_card_challenge
from sscard_issuer.channel.state import ChannelState

__all__ = [
    "ISD_AID",
    "SW_MORE_ENTRIES",
    "SW_NO_ENTRIES",
    "CardAuthenticationFailed",
    "CardChallenge",
    "CardChannel",
    "ChannelClosed",
    "ChannelError",
    "ChannelState",
    "ChannelUsageError",
    "CommandMacInvalid",
    "CpsError",
    "Dgi",
    "DiversificationTemplate",
    "ExternalAuthenticationRejected",
    "HostAuthenticationFailed",
    "HostChannel",
    "KeyVersionNotFound",
    "MalformedResponse",
    "RegistryEntry",
    "RegistryKind",
    "ResponseMacInvalid",
    "Scp",
    "SecurityLevel",
    "SecurityLevelNotSupported",
    "SessionKeys",
    "StaticKeys",
    "StoreDataBlock",
    "StoreDataReceiver",
    "aid_prefix_of",
    "check_i",
    "count_store_data_blocks",
    "decode_dgis",
    "decode_status",
    "diversify",
    "encode_dgis",
    "get_status",
    "gp_check_value",
    "install_for_personalization",
    "is_sensitive",
    "level_offered",
    "max_command_data",
    "personalization_target",
    "pseudo_random_card_challenge",
    "pseudo_random_challenge",
    "store_data_block_count",
    "store_data_commands",
]
