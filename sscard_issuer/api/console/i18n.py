"""Every word the console shows, in simplified Chinese first and English second: one catalogue.

:func:`text` looks a key up here, then in the command line's catalogue
(:mod:`sscard_issuer.cli.messages`), so the labels both interfaces share (card data, stock, the
refusals' headlines) are written once. A missing key is a bug: it raises ``KeyError``.
"""

from __future__ import annotations

from typing import Literal

from sscard_issuer.cli.messages import text as cli_text

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")

_CONSOLE: dict[str, tuple[str, str]] = {
    # the frame
    "app_title": ("社会保障卡网点业务系统", "Social security card outlet console"),
    "lang_switch": ("English", "中文"),
    "signed_in_as": ("当前用户", "Signed in as"),
    "sign_in": ("登录", "Sign in"),
    "sign_out": ("退出", "Sign out"),
    "password": ("密码", "Password"),
    "sign_in_title": ("工作人员登录", "Staff sign-in"),
    "sign_in_hint": ("请使用登记库中的工作人员账号登录。", "Sign in with your staff account of the registry."),
    "no_staff_yet": ("尚无可登录的工作人员：请用 sscard staff add ... --password-stdin 添加，或以 --demo-staff 启动演示账号。",
                     "Nobody can sign in yet: add staff with sscard staff add ... --password-stdin, or start with "
                     "--demo-staff for demonstration accounts."),
    "signed_out": ("已退出登录", "Signed out"),
    "session_expired": ("登录已过期，请重新登录", "Your session expired: sign in again"),
    "csrf_refused": ("表单已失效（可能来自其他网站或页面停留过久），请刷新页面后重新提交",
                     "The form is no longer valid (it may come from another site, or the page was open too long): "
                     "reload the page and submit again"),
    "too_many_sign_ins": ("登录失败次数过多", "Too many failed sign-ins"),
    "sign_in_retry": ("该用户名登录失败次数过多，暂停登录。请于 {at} 之后（约 {minutes} 分钟后）再试。",
                      "Too many failed sign-ins for this username: signing in is paused. Try again after {at} "
                      "(in about {minutes} min)."),
    "not_found_page": ("页面不存在", "No such page"),
    "outlet_of": ("网点", "Outlet"),
    "all_outlets": ("全部网点", "all outlets"),
    "choose_outlet": ("选择网点", "Choose an outlet"),
    "show": ("查看", "Show"),
    "submit": ("提交", "Submit"),
    "nothing_yet": ("暂无", "Nothing yet"),
    "details": ("详情", "Details"),
    "refused": ("未能办理", "Refused"),
    "done_ok": ("已办理", "Done"),
    # navigation
    "nav_dashboard": ("工作台", "Dashboard"),
    "nav_apply": ("申领", "Apply"),
    "nav_enrol": ("参保登记", "Enrolment"),
    "nav_batch": ("批量申领", "Batch"),
    "nav_cards": ("卡片业务", "Cards"),
    "nav_issuance": ("即时制卡", "Instant issuance"),
    "nav_stock": ("库存与复核", "Stock and approvals"),
    "nav_audit": ("审计日志", "Audit log"),
    "nav_staff": ("工作人员", "Staff"),
    # dashboard
    "dashboard_title": ("工作台", "Dashboard"),
    "open_jobs": ("制卡队列", "Issuance queue"),
    "printers": ("打印机", "Printers"),
    "recent_applications": ("本网点最近申请", "Recent applications at this outlet"),
    "today": ("今日", "Today"),
    "role_scope_all": ("可查看全部网点", "may look at every outlet"),
    # applications
    "apply_title": ("社会保障卡申领", "Apply for a social security card"),
    "application_kind": ("申领类型", "Kind of application"),
    "applicant": ("申请人", "Applicant"),
    "document_type": ("证件类型", "Identity document"),
    "document_number": ("证件号码", "Document number"),
    "country": ("签发国家（护照，三位字母代码）", "Issuing state (passport, ISO alpha-3)"),
    "birth_date_hint": ("18 位证件号码可不填，自动取号码中的日期", "leave empty for an 18-character number: taken from it"),
    "ethnicity": ("民族代码（两位）", "Ethnic group code (two digits)"),
    "phone": ("手机号码", "Mobile number"),
    "photo": ("照片", "Photo"),
    "photo_hint": ("白底免冠彩色证件照，JPEG，358×441 像素，9–50 KB；未满 7 周岁可不提供。",
                   "White-background colour photo, JPEG, 358 x 441 pixels, 9-50 KB; not needed under 7."),
    "photo_check": ("检查照片", "Check the photo"),
    "photo_ok": ("照片合格", "The photo can be used"),
    "instant": ("即时制卡（现场制卡领取）", "Instant issuance (made and handed over now)"),
    "delivery_method": ("领卡方式", "Delivery"),
    "collect_at": ("领卡网点（默认本网点）", "Collect at (default: this outlet)"),
    "recipient_name": ("收件人", "Recipient"),
    "recipient_phone": ("收件人电话", "Recipient's phone"),
    "postcode": ("邮政编码", "Postcode"),
    "agent": ("代办人", "Agent"),
    "agent_name": ("代办人姓名", "Agent's name"),
    "agent_document_type": ("代办人证件类型", "Agent's document"),
    "agent_document_number": ("代办人证件号码", "Agent's document number"),
    "commitment_reference": ("承诺书扫描件编号", "Reference of the commitment's scan"),
    "commitment_signed": ("代办人已签署承诺书", "The agent signed the commitment"),
    "student": ("学生", "Student"),
    "school_name": ("学校名称", "School"),
    "student_number": ("学籍号", "Student number"),
    "ems_fields": ("邮寄信息（仅 EMS）", "Mailing (EMS only)"),
    "proxy_fields": ("委托代办（仅代办）", "Filed by an agent (proxy only)"),
    "student_fields": ("在校学生（仅学生申领）", "Students only"),
    "mark_instant": ("提交即时制卡", "Mark for instant issuance"),
    "on_failure": ("制卡失败时", "If the blank is spoiled"),
    "on_failure_ask": ("等待经办人处理", "wait for me to decide"),
    "on_failure_requeue": ("自动用新卡重做", "retry at once with a new blank"),
    "on_failure_withdraw": ("撤销即时制卡（转普通制卡）", "withdraw instant issuance"),
    "enrol_title": ("参保登记", "Social insurance enrolment"),
    "enrol_hint": ("申领前须已参加社会保险。此处登记参保信息（正式环境中由社保系统提供）。",
                   "Applicants must be insured. Record the enrolment here (in production it comes from the "
                   "social insurance system)."),
    "enrol_submit": ("登记", "Record"),
    "enrolled_ok": ("参保登记已记录：{name}", "Enrolment recorded: {name}"),
    "filed_ok": ("申请已受理：申请编号 {application_id}", "Application filed: number {application_id}"),
    # batch
    "batch_title": ("单位（学校）批量申领", "Employer and school batch applications"),
    "batch_hint": ("上传填好的申领表（.xlsx）和照片压缩包（.zip，照片以证件号码命名）；逐行结果可下载。",
                   "Upload the filled form (.xlsx) and a .zip of the photos (named by document number); the "
                   "per-row report can be downloaded."),
    "batch_form_file": ("申领表（.xlsx）", "Form (.xlsx)"),
    "batch_photos": ("照片压缩包（.zip）", "Photos (.zip)"),
    "organisation_name": ("单位（学校）名称", "Organisation's name"),
    "organisation_code": ("统一社会信用代码", "Unified social credit code"),
    "batch_kind_employer": ("单位批量申领", "employer batch"),
    "batch_kind_student": ("在校学生申领", "students"),
    "batch_template": ("下载空白申领表", "Download a blank form"),
    "batch_done": ("批次 {batch}：共 {total} 行，受理 {accepted} 行，退回 {refused} 行",
                   "Batch {batch}: {total} rows, {accepted} accepted, {refused} refused"),
    "batch_report": ("下载逐行结果", "Download the per-row report"),
    "batch_reasons": ("退回原因", "Why rows were refused"),
    "rows": ("行", "rows"),
    # cards
    "cards_title": ("卡片查询与业务", "Find a card"),
    "card_key": ("社会保障号码、卡识别码或卡片参考号", "Social security number, card identification code or card reference"),
    "chip_serial": ("芯片序列号", "Chip serial number"),
    "find": ("查询", "Find"),
    "card_actions": ("可办理的业务", "Operations"),
    "not_allowed_now": ("当前状态不可办理（提交后会说明原因）", "not possible in this state (submitting says why)"),
    "not_allowed_legend": ("灰色的业务在卡片当前状态下不可办理，提交后会说明原因。",
                           "Greyed operations are not possible in the card's state; submitting one says why."),
    "replace_title": ("补换卡", "Replace the card"),
    "replace_hint": ("补换卡须提供新照片（未满 7 周岁除外）；原卡将永久失效。",
                     "A replacement needs a new photo (except under 7); the old card stops for good."),
    "action_done": ("已办理：{action}", "Done: {action}"),
    "replacement_ok": ("补换卡申请已受理：新卡参考号 {card_ref}", "Replacement filed: new card {card_ref}"),
    "open_card": ("查看卡片", "Open the card"),
    # issuance
    "issuance_title": ("即时制卡", "Instant issuance"),
    "mark_card": ("提交制卡", "Mark a card"),
    "mark_card_hint": ("输入已选择即时制卡的申请的卡片参考号或社会保障号码", "The card reference or social security number of an instant application"),
    "job": ("任务", "Job"),
    "job_state": ("进度", "Progress"),
    "step_under_way": ("正在执行", "Step under way"),
    "attempt": ("次数", "Attempt"),
    "printer": ("打印机", "Printer"),
    "last_failure": ("最近失败", "Last failure"),
    "queue_empty": ("队列中没有任务", "The queue is empty"),
    "printer_state_idle": ("空闲", "idle"),
    "printer_state_working": ("制卡中", "working"),
    "printer_state_paused": ("暂停，需处理", "paused: needs you"),
    "printer_none": ("本网点没有在线的打印机", "No printer is connected at this outlet"),
    "what_to_do": ("处理方法", "What to do"),
    "printer_paused_on_job": ("打印机 {printer} 已暂停，处理后自动继续：", "Printer {printer} is paused; it goes on once fixed:"),
    "all_printers_paused": ("所有打印机均已暂停，任务在队列中等待：", "Every printer is paused; the job waits in the queue:"),
    "journal": ("制卡记录", "Journal"),
    "phase": ("阶段", "phase"),
    "face_preview": ("卡面预览", "Card face preview"),
    "face_after_perso": ("芯片写入后（分配卡号后）可预览卡面", "The face can be previewed once the chip is written (the card number allocated)"),
    "decide_requeue": ("用新卡重新制作", "Make it again with a new blank"),
    "decide_withdraw": ("撤销即时制卡", "Withdraw instant issuance"),
    "job_decided": ("已处理任务 {job}", "Job {job} decided"),
    "job_marked": ("已提交即时制卡：任务 {job}", "Marked for instant issuance: job {job}"),
    "live": ("实时更新", "live"),
    "live_lost": ("实时连接中断，正在重连…", "Live updates interrupted; reconnecting..."),
    "all_jobs": ("包括已完成", "include finished"),
    "cond_feeder_empty": ("进卡盒无卡", "feeder empty"),
    "cond_ribbon_low": ("色带将尽", "ribbon low"),
    "cond_ribbon_ended": ("色带用完", "ribbon ended"),
    "cond_cover_open": ("上盖打开", "cover open"),
    "cond_reject_box_full": ("废卡盒已满", "reject box full"),
    "cond_jammed": ("卡片卡住", "card jammed"),
    "cond_offline": ("打印机离线", "printer offline"),
    "cond_jam": ("卡片卡住", "card jammed"),
    "cond_mute": ("打印机无响应", "printer not answering"),
    "step_mark": ("提交", "marked"),
    "step_claim": ("分配打印机", "printer assigned"),
    "step_feed": ("进卡", "feed a blank"),
    "step_encoder": ("送至写卡位", "to the encoder"),
    "step_personalise": ("写入芯片", "personalise the chip"),
    "step_verify": ("校验芯片", "verify the chip"),
    "step_print": ("打印卡面", "print the face"),
    "step_eject": ("出卡", "eject"),
    "step_report": ("回盘", "report back"),
    "step_activate": ("启用", "activate"),
    "step_ecard": ("签发电子社保卡", "issue the e-card"),
    "step_decide": ("经办人处理", "operator's decision"),
    "step_job": ("任务", "job"),
    "phase_started": ("开始", "started"),
    "phase_done": ("完成", "done"),
    "phase_failed": ("失败", "failed"),
    "phase_paused": ("暂停", "paused"),
    "phase_resumed": ("继续", "resumed"),
    "phase_taken_up": ("重启后接续", "taken up after a restart"),
    # the simulator
    "sim_title": ("打印机模拟器（测试环境，非真实设备）", "Printer simulator (test stack, not a real printer)"),
    "sim_hint": ("模拟打印机故障及处理操作；真实网点中这些由工作人员在打印机上完成。",
                 "Simulates printer trouble and the operator's fixes; at a real outlet these happen at the printer."),
    "sim_open_cover": ("打开上盖", "Open the cover"),
    "sim_close_cover": ("关闭上盖", "Close the cover"),
    "sim_empty_feeder": ("取空进卡盒", "Empty the feeder"),
    "sim_load_cards": ("放入空白卡", "Load blank cards"),
    "sim_jam": ("模拟卡卡", "Jam a card"),
    "sim_clear_jam": ("取出卡住的卡", "Clear the jam"),
    "sim_end_ribbon": ("色带用完", "End the ribbon"),
    "sim_replace_ribbon": ("更换色带", "Replace the ribbon"),
    "sim_fill_reject": ("废卡盒满", "Fill the reject box"),
    "sim_empty_reject": ("清空废卡盒", "Empty the reject box"),
    "sim_blanks": ("进卡盒空白卡", "blanks in the feeder"),
    "sim_faults": ("当前故障", "faults now"),
    "sim_done": ("模拟器：{action}", "Simulator: {action}"),
    # stock and approvals
    "stock_page": ("库存与对账", "Stock and reconciliation"),
    "receive_stock": ("空白卡入库", "Receive blank cards"),
    "delivery_reference": ("送货单号", "Delivery note"),
    "received_ok": ("已入库 {quantity} 张", "{quantity} received"),
    "request_approval": ("提交复核申请", "Ask for an approval"),
    "requested_ok": ("已提交复核申请 {id}，等待本网点其他主管复核", "Request {id} sent: another supervisor of this outlet decides"),
    "approve": ("批准", "Approve"),
    "reject": ("驳回", "Reject"),
    "decided_ok": ("复核申请 {id}：{state}", "Request {id}: {state}"),
    "reconciliation": ("对账", "Reconciliation"),
    "reconcile_ok": ("账实相符：每张上机的卡都已制成或登记为废卡", "Balanced: every card fed is a good card or a recorded spoiled one"),
    "reconcile_open": ("有 {count} 张上机的卡既未制成也未登记为废卡：仍在打印机中，或已丢失，请核查",
                       "{count} cards fed are neither good nor spoiled: still in a printer, or lost; check them"),
    "dual_control_hint": ("销毁废卡和调整库存须由本网点另一名主管复核后执行（双人控制）。",
                          "Destroying spoiled cards and adjusting the stock take effect when another supervisor "
                          "of this outlet approves (dual control)."),
    # audit
    "audit_title": ("审计日志", "Audit log"),
    "audit_action": ("业务代码", "action"),
    "audit_subject": ("对象", "subject"),
    "audit_actor": ("经办人", "actor"),
    "audit_detail": ("内容", "detail"),
    "date_from": ("起始日期", "from"),
    "date_to": ("截止日期", "to"),
    "filter": ("筛选", "Filter"),
    "export_csv": ("导出 CSV", "Export CSV"),
    "audit_verify": ("校验日志完整性", "Verify the chain"),
    "audit_showing": ("显示最新 {count} 条", "Showing the newest {count}"),
    # staff
    "staff_page": ("工作人员管理", "Staff"),
    "add_staff": ("添加工作人员", "Add a member of staff"),
    "staff_added_ok": ("已添加 {username}", "{username} added"),
    "password_hint": ("至少 10 个字符", "at least 10 characters"),
    # refusals
    "refusal_http": ("未能办理", "Refused"),
    "error_other": ("操作失败", "The operation failed"),
    "job_refused": ("不能办理此制卡操作", "This issuance operation is not possible"),
    "sim_not_here": ("本网点没有模拟打印机", "There is no printer simulator at this outlet"),
    "batch_report_missing": ("结果文件已不存在（服务重启后需重新导入查看）", "The report is gone (after a restart, import again to see it)"),
    # field labels (what a FieldError names)
    "field_name": ("姓名", "name"),
    "field_sex": ("性别", "sex"),
    "field_birth_date": ("出生日期", "date of birth"),
    "field_document": ("证件", "document"),
    "field_document_type": ("证件类型", "document type"),
    "field_document_number": ("证件号码", "document number"),
    "field_country": ("国家", "country"),
    "field_ethnicity": ("民族", "ethnic group"),
    "field_phone": ("手机号码", "phone"),
    "field_photo": ("照片", "photo"),
    "field_instant": ("即时制卡", "instant issuance"),
    "field_kind": ("申领类型", "kind"),
    "field_insured_since": ("参保日期", "insured since"),
    "field_quantity": ("数量", "quantity"),
    "field_reason": ("原因", "reason"),
    "field_password": ("密码", "password"),
    "field_username": ("用户名", "username"),
    "field_outlet": ("网点", "outlet"),
    "field_outlet_code": ("领卡网点", "collection outlet"),
    "field_on_failure": ("制卡失败时", "if spoiled"),
}

_FIELDS = {k.removeprefix("field_") for k in _CONSOLE if k.startswith("field_")}


def text(key: str, lang: Lang = "zh", **values: object) -> str:
    """The text of ``key`` in ``lang`` (the console's catalogue, then the command line's)."""
    pair = _CONSOLE.get(key)
    if pair is None:
        return cli_text(key, lang, **values)
    chosen = pair[1] if lang == "en" else pair[0]
    return chosen.format(**values) if values else chosen


def field_label(field: str, lang: Lang) -> str:
    """A form field as the operator knows it (the agent's fields carry the applicant's labels)."""
    for key in (field, field.removeprefix("agent_")):
        if key in _FIELDS:
            label = text(f"field_{key}", lang)
            return (text("agent", lang) + label) if key != field and lang == "zh" else (
                f"agent's {label}" if key != field else label)
        if key in _CONSOLE:
            return text(key, lang)
    return field


def language(value: str | None) -> Lang:
    return "en" if value and value.lower().startswith("en") else "zh"
