"""What people read at the terminal: simplified Chinese first, English on request.

``SSCARD_LANG=en`` (or ``--lang en``) switches to English. Only headlines are translated; the
detail after them is the error's own English text, which names the field, reader or status word.
"""

from __future__ import annotations

import os
from typing import Literal

Lang = Literal["zh", "en"]

_MESSAGES: dict[str, tuple[str, str]] = {
    # headlines of errors
    "no_service": ("读卡服务 pcscd 没有运行", "the PC/SC service pcscd is not running"),
    "no_readers": ("没有找到读卡器", "no card reader found"),
    "reader_not_found": ("找不到指定的读卡器", "the reader asked for is not there"),
    "no_card": ("读卡器中没有卡片", "no card in the reader"),
    "card_removed": ("卡片已被移走", "the card was removed"),
    "card_mute": ("卡片没有响应", "the card does not answer"),
    "transport": ("与读卡器通信失败", "communication with the reader failed"),
    "wrong_pin": ("密码错误，还可尝试 {tries} 次", "wrong PIN, {tries} tries left"),
    "pin_locked": ("密码已锁定，请持本人有效身份证件到服务网点重置", "the PIN is locked; the holder must reset it at an outlet"),
    "card_locked": ("卡片社保应用已锁定", "the card's social security application is locked"),
    "card_error": ("卡片拒绝了指令", "the card refused a command"),
    "not_genuine": ("卡片内部认证失败，不是真卡，卡内其他数据不可信", "internal authentication failed: the card is not genuine and nothing else on it is trusted"),
    "bad_input": ("输入有误", "invalid input"),
    "keys": ("密钥库错误", "key store error"),
    "image": ("卡片镜像文件有误", "card image problem"),
    "error": ("操作失败", "operation failed"),
    "spoiled": ("卡片制作失败，请放入废卡盒", "the card is spoiled; put it in the reject box"),
    "interrupted": ("制卡中断，请放回卡片后重新执行以继续", "personalisation interrupted; put the card back and run again to resume"),
    "perso": ("无法制卡", "cannot personalise"),
    # labels of card data
    "area_code": ("发卡地区", "issuing area"),
    "ssn": ("社会保障号码", "social security number"),
    "card_number": ("卡号", "card number"),
    "card_id": ("卡识别码", "card identification code"),
    "name": ("姓名", "name"),
    "sex": ("性别", "sex"),
    "birth_date": ("出生日期", "date of birth"),
    "atr_historical": ("复位应答历史字节", "ATR historical bytes"),
    "version": ("规范版本", "specification version"),
    "issue_date": ("发卡日期", "issue date"),
    "expiry_date": ("有效期至", "valid until"),
    "algorithm": ("算法", "algorithm"),
    "genuine": ("真卡验证", "genuine card"),
    "yes": ("通过", "yes"),
    "no": ("未通过", "no"),
    "male": ("男", "male"),
    "female": ("女", "female"),
    "card_title": ("社会保障卡", "Social security card"),
    # PIN services (sscard card pin ...)
    "pin_prompt": ("请输入密码", "PIN"),
    "pin_prompt_old": ("请输入原密码", "current PIN"),
    "pin_prompt_new": ("请输入新密码", "new PIN"),
    "pin_prompt_again": ("请再次输入新密码", "new PIN again"),
    "pin_verified": ("密码正确", "PIN verified"),
    "pin_changed": ("密码已修改", "PIN changed"),
    "pin_reset": ("密码已重置", "PIN reset"),
    "pin_unblocked": ("密码已解锁", "PIN unblocked"),
    "pin_tries": ("还可尝试 {tries} 次", "{tries} tries left"),
}


def language() -> Lang:
    return "en" if os.environ.get("SSCARD_LANG", "zh").lower().startswith("en") else "zh"


def text(key: str, lang: Lang | None = None, **values: object) -> str:
    zh, en = _MESSAGES[key]
    chosen = en if (lang or language()) == "en" else zh
    return chosen.format(**values) if values else chosen
