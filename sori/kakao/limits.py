"""Kakao i Open Builder skill limits and enumerations. Each one quotes its source.

Source of every limit (quoted in the comments next to each constant), checked 2026-11:
``[docs]`` = the official "응답 타입별 JSON 포맷" page,
https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/answer_json_format
``[design]`` = docs/ARCHITECTURE.md §6.4 (where it is stricter than the current docs we keep the stricter rule).
``[ours]`` = a choice of this project, not a Kakao limit.
"""

from __future__ import annotations

# [docs] SkillResponse: "현재 스킬 응답의 version은 2.0만 지원됩니다." / "version이 없다면 구 버전의 응답으로 간주"
VERSION = "2.0"
# [docs] SkillTemplate: outputs "1개 이상 3개 이하"; [design] "outputs 1–3"
MIN_OUTPUTS = 1
MAX_OUTPUTS = 3
# [docs] SkillTemplate: quickReplies "10개 이하"; [design] "quickReplies ≤ 10"
MAX_QUICK_REPLIES = 10
# [docs] SimpleText.text 제한 "1000자" (over 500 the client folds the rest behind "전체 보기"); [design] ≤ 1000
SIMPLE_TEXT_MAX = 1000
# [docs] SimpleImage.altText / Thumbnail.altText "최대 50자"
ALT_TEXT_MAX = 50
# [docs] TextCard.title "최대 50자"
TEXT_CARD_TITLE_MAX = 50
# [docs] TextCard.description "단일형인 경우, 최대 400자 (title에 따라 달라짐) 케로셀인 경우, 최대 128자";
#        "단일형인 경우, title과 description을 합쳐 최대 400자까지 노출됩니다." -> title+description ≤ 400
TEXT_CARD_DESCRIPTION_MAX = 400
TEXT_CARD_DESCRIPTION_MAX_IN_CAROUSEL = 128
TEXT_CARD_TOTAL_MAX = 400
# [docs] BasicCard.title "최대 50자", description "최대 230자" (in a carousel "최대 2줄", device dependent,
#        not checkable as characters: the character limits still apply)
BASIC_CARD_TITLE_MAX = 50
BASIC_CARD_DESCRIPTION_MAX = 230
# [docs] CommerceCard.title "최대 30자", description "최대 40자", thumbnails "현재 1개만 가능", currency "won"만
COMMERCE_CARD_TITLE_MAX = 30
COMMERCE_CARD_DESCRIPTION_MAX = 40
# [docs] ItemCard: itemList "단일형: 최대 10개", "케로셀형: 최대 5개"; itemList.title "최대 6자";
#        itemListSummary.title "최대 6자", description "최대 14자"; title+description "단일형: 최대 200자",
#        "케로셀형: 최대 100자", "description을 넣는 경우, title이 필수"; profile.title "최대 15글자"
ITEM_CARD_MAX_ITEMS = 10
ITEM_CARD_MAX_ITEMS_IN_CAROUSEL = 5
ITEM_CARD_ITEM_TITLE_MAX = 6
ITEM_CARD_SUMMARY_TITLE_MAX = 6
ITEM_CARD_SUMMARY_DESCRIPTION_MAX = 14
ITEM_CARD_TEXT_MAX = 200
ITEM_CARD_TEXT_MAX_IN_CAROUSEL = 100
ITEM_CARD_PROFILE_TITLE_MAX = 15
# [docs] Button.label "버튼 14자(가로배열 2개 8자)" — "썸네일이 1:1이면 버튼이 가로배열 됩니다". Buttons only: the
#        QuickReply table documents no label limit (see QUICK_REPLY_LABEL_BUDGET). The builder gives a card with
#        two or more buttons buttonLayout "vertical" (documented to win over fixedRatio) so 14 applies, not 8.
LABEL_MAX = 14
LABEL_MAX_HORIZONTAL = 8
# [docs] Text/Basic/Commerce/ItemCard.buttons "가로 정렬 시 최대 2개, 세로 정렬 시 최대 3개";
#        buttonLayout "vertical": 최대 3개, "horizontal": 최대 2개; Thumbnail.fixedRatio true -> "버튼이 가로로
#        배열되며 최대 2개"; buttonLayout wins over fixedRatio.
CARD_MAX_BUTTONS = 3
CARD_MAX_BUTTONS_HORIZONTAL = 2
# [design] listCard "buttons ≤ 2" (the older docs' "최대 2개"). The current docs table allows 3 with a vertical
#        layout; we keep the stricter 2 so a reply is valid under both readings.
LIST_CARD_MAX_BUTTONS = 2
# [docs] ListCard.items "최대 5개, 케로셀형 : 최대 4개"; [design] "listCard ≤ 5 items (≤ 4 inside a carousel)"
LIST_CARD_MAX_ITEMS = 5
LIST_CARD_MAX_ITEMS_IN_CAROUSEL = 4
# [docs] Carousel.items "최대 10개 *ListCard는 최대 5개"; [design] "carousel of listCards ≤ 5"
CAROUSEL_MAX_ITEMS = 10
CAROUSEL_MAX_LIST_CARDS = 5
# [docs] ListItem has NO documented character limits (title/description are one line each, device dependent).
#        These are *our* display budgets, applied by the builder only; the validator does not enforce them.
LIST_ITEM_TITLE_BUDGET = 50
LIST_ITEM_DESCRIPTION_BUDGET = 100
# [ours] what one list-row line shows, in display columns (sori.kakao.text.display_width: Hangul 2, Latin 1):
#        about 16 Hangul syllables or 32 Latin letters beside the row's image on a phone. Text meant to be read
#        whole in a row (a related artist's reason) is composed to fit it instead of being cut by the client.
LIST_ITEM_LINE_WIDTH = 32
# [docs] QuickReply.label has NO documented limit (the QuickReplies table leaves 제한 empty for label; only
#        quickReplies "10개 이하" is documented). [ours] a budget for pathological names only, so an artist name
#        is never cut at the button rule's 14 (issue 14, item 7); the validator enforces no quick-reply label length.
QUICK_REPLY_LABEL_BUDGET = 50
# [docs] userRequest.user.id "최대 70자" (request side; informative only).
USER_ID_MAX = 70

# [ours] truncation mark and placeholder (not Kakao limits)
ELLIPSIS = "\u2026"  # "…", 1 UTF-16 unit
PLACEHOLDER = ELLIPSIS  # stands in for required text that came in empty
# [ours] the reply sent when anything fails (a simpleText, within SIMPLE_TEXT_MAX)
DEFAULT_ERROR_TEXT = "죄송해요, 잠시 문제가 생겼어요. 잠시 후 다시 시도해 주세요."
# [ours] the reply to a body that is not a skill payload (its language is unknown: both)
UNREADABLE_TEXT = ("메시지를 읽지 못했어요. 다시 보내 주세요.\n"
                   "Sorry, I couldn't read that message. Please send it again.")

# [docs] component names allowed in template.outputs
OUTPUT_TYPES = ("simpleText", "simpleImage", "textCard", "basicCard", "commerceCard", "listCard", "itemCard",
                "carousel")
# [docs] Carousel.type "basicCard 혹은 commerceCard, listCard, itemCard" (+ TextCard in the items row)
CAROUSEL_TYPES = ("textCard", "basicCard", "commerceCard", "listCard", "itemCard")
# [docs] Button "action 종류": webLink, message, phone, block, share, operator
BUTTON_ACTIONS = ("webLink", "message", "phone", "block", "share", "operator")
# [docs] ListItem.action "block or message"; QuickReply.action "‘Message’ 혹은 ‘block’" (examples: "message")
LIST_ITEM_ACTIONS = ("block", "message")
QUICK_REPLY_ACTIONS = ("message", "block")
# [docs] buttonLayout "vertical" | "horizontal" (see CARD_MAX_BUTTONS above)
BUTTON_LAYOUTS = ("vertical", "horizontal")
