"""The words that name a protected service or a topic that is never in scope, in one place.

Principle 3 keeps every measure out of healthcare, education, social assistance, basic utilities,
emergency services and access to justice; principle 8 keeps political opinion, religion, ethnicity,
speech, association membership, location and social-media accounts out of the data altogether. A
catalog could dodge both by naming things differently (`hospital.admission` in an unprotected
sector, an attribute `religion`), so the loader reads names for these terms, in English, pinyin and
Chinese, on normalised text:

- NFKC (full-width letters become ASCII), case-folded, zero-width characters removed;
- every run of characters other than letters and digits (`.`, `_`, `-`, spaces, ...) is one
  separator, so `hospital.admission`, `Hospital-Admission` and `hospital admission` read alike;
- a *stem* matches anywhere in the text with its separators removed, so compounds and inflections
  (`hospitals`, `schooling`, `yi_yuan`, `waterconnection`) are caught;
- a *word* is short or common inside other words (`water`, `gas`, `court`, `race`), so it matches a
  whole word only, also with `s`, `es`, `ing` or `ed` after it;
- Chinese terms match anywhere.

`src/xinyong/policy/README.md` shows these lists; a test holds it equal to `render_markdown()`
(regenerate with `python -m xinyong.domain.catalog.terms`).
"""

from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass

_SEPARATOR = re.compile(r"[\W_]+")
_SUFFIXES = ("", "s", "es", "ing", "ed")


@dataclass(frozen=True)
class Topic:
    """One protected service or one never-in-scope topic, with the terms that name it."""

    key: str
    title: str
    stems: tuple[str, ...]
    words: tuple[str, ...]
    zh: tuple[str, ...]


# Keys of protected services are the protected sectors' values (models.Sector).
# fmt: off
PROTECTED_SERVICES: tuple[Topic, ...] = (
    Topic(
        "healthcare",
        "Healthcare",
        stems=("hospital", "clinic", "medic", "health", "patient", "doctor", "surgery", "surgical", "vaccin",
               "dental", "dentist", "maternity", "nursing", "yiyuan", "yiliao", "yibao", "jiuyi", "jiuzhen",
               "kanbing", "zhuyuan", "menzhen", "zhensuo", "weishengyuan"),
        words=(),
        zh=("医院", "医疗", "医保", "就医", "就诊", "看病", "住院", "门诊",
            "诊所", "卫生院", "卫生所", "健康", "医生", "疫苗", "手术", "护理"),
    ),
    Topic(
        "education",
        "Education",
        stems=("school", "educat", "enrol", "universit", "college", "kindergarten", "preschool", "student",
               "tuition", "pupil", "xuexiao", "jiaoyu", "ruxue", "zhaosheng", "youeryuan", "daxue", "xuesheng",
               "shangxue", "shengxue", "jiuxue"),
        words=(),
        zh=("学校", "教育", "入学", "招生", "幼儿园", "大学", "学生", "上学",
            "升学", "就学", "学位", "学籍", "中考", "高考"),
    ),
    Topic(
        "social_assistance",
        "Social assistance",
        stems=("dibao", "socialassistance", "minimumliving", "subsistence", "welfare", "pension", "unemployment",
               "disabilit", "socialsecurity", "socialinsurance", "socialhousing", "publichousing", "publicrental",
               "poverty", "shebao", "jiuzhu", "yanglao", "canji", "tekun", "wubao", "baozhangfang", "gongzufang",
               "lianzufang", "zuidishenghuo"),
        words=(),
        zh=("低保", "救助", "最低生活", "社会保障", "社保", "社会保险", "养老",
            "失业", "残疾", "抚恤", "特困", "五保", "保障房", "公租房", "廉租",
            "福利", "扶贫", "救济"),
    ),
    Topic(
        "utilities",
        "Basic utilities",
        stems=("electricit", "powersupply", "powerconnection", "powergrid", "powerbill", "gassupply",
               "gasconnection", "gasbill", "naturalgas", "watersupply", "waterconnection", "waterservice",
               "waterbill", "waterutilit", "tapwater", "drinkingwater", "heating", "telecom", "broadband",
               "internetaccess", "phoneline", "sewage", "sewer", "utilit", "gongshui", "gongdian", "yongshui",
               "yongdian", "ranqi", "gongnuan", "kuandai"),
        words=(),
        zh=("供水", "用水", "自来水", "供电", "用电", "电力", "燃气", "天然气",
            "煤气", "供暖", "供热", "暖气", "电信", "通信", "宽带", "水电",
            "停水", "停电", "断水", "断电", "通水", "通电"),
    ),
    Topic(
        "emergency_services",
        "Emergency services",
        stems=("emergency", "ambulance", "rescue", "paramedic", "firefight", "firebrigade", "jijiu", "jiuyuan",
               "jiuhu"),
        words=(),
        zh=("急救", "救援", "救护", "火警", "报警"),
    ),
    Topic(
        "justice",
        "Access to courts and legal aid",
        stems=("legalaid", "litigation", "lawsuit", "accesstojustice", "arbitration", "falvyuanzhu", "susong",
               "sifajiuzhu", "zhongcai"),
        words=("court", "tribunal"),
        zh=("法律援助", "诉讼", "法院", "立案", "司法救助", "起诉", "上诉",
            "仲裁"),
    ),
)

NEVER_IN_SCOPE: tuple[Topic, ...] = (
    Topic(
        "political_opinion",
        "Political opinion",
        stems=("politic", "ideolog", "dissent", "protest", "petition", "demonstrat", "opinion", "zhengzhi",
               "zhengjian", "shangfang", "xinfang"),
        words=("vote", "voter"),
        zh=("政治", "政见", "上访", "信访", "抗议", "示威", "游行", "异见"),
    ),
    Topic(
        "religion",
        "Religion",
        stems=("religio", "church", "mosque", "temple", "buddhis", "christian", "muslim", "islam", "catholic",
               "taois", "falun", "worship", "zongjiao", "fojiao", "jidujiao", "yisilan"),
        words=("sect", "cult"),
        zh=("宗教", "信仰", "教会", "寺庙", "清真", "佛教", "基督", "伊斯兰",
            "天主教", "道教", "法轮", "礼拜", "邪教"),
    ),
    Topic(
        "ethnicity",
        "Ethnicity",
        stems=("ethnic", "racial", "nationality", "uyghur", "uighur", "tibetan", "minzu", "zhongzu"),
        words=("race", "tribe"),
        zh=("民族", "种族", "族裔"),
    ),
    Topic(
        "speech",
        "Speech or online content",
        stems=("speech", "onlinecontent", "onlinepost", "internetpost", "comment", "rumor", "rumour", "censor",
               "blog", "tweet", "yanlun", "yaoyan", "fatie", "pinglun", "yulun"),
        words=("post", "forum"),
        zh=("言论", "发帖", "帖子", "评论", "舆论", "谣言"),
    ),
    Topic(
        "association",
        "Association membership",
        stems=("associat", "membership", "tradeunion", "labourunion", "laborunion", "partymember", "jieshe",
               "shetuan", "dangyuan", "huiyuan"),
        words=("union", "club", "ngo", "member"),
        zh=("结社", "社团", "协会", "会员", "党员", "党派", "党籍", "工会"),
    ),
    Topic(
        "location",
        "Location or camera surveillance",
        stems=("location", "geoloc", "gps", "whereabout", "movement", "trajectory", "itinerar", "travel",
               "camera", "surveillance", "cctv", "facialrecog", "facerecog", "dingwei", "guiji", "xingzong",
               "jiankong", "shexiang", "renlian", "chuxing"),
        words=("track", "trip", "route"),
        zh=("行踪", "轨迹", "定位", "位置", "出行", "监控", "摄像", "人脸",
            "行程"),
    ),
    Topic(
        "social_media",
        "Social-media accounts",
        stems=("socialmedia", "weibo", "wechat", "weixin", "douyin", "tiktok", "twitter", "facebook",
               "pengyouquan", "zimeiti"),
        words=(),
        zh=("微博", "微信", "朋友圈", "自媒体", "抖音"),
    ),
)
# fmt: on


def normalise(text: str) -> str:
    """NFKC, case-folded, zero-width characters dropped, every separator run one space."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    visible = "".join(ch for ch in folded if unicodedata.category(ch) != "Cf")
    return _SEPARATOR.sub(" ", visible).strip()


@dataclass(frozen=True)
class Hit:
    topic: Topic
    term: str


def find_terms(text: str, topics: tuple[Topic, ...]) -> list[Hit]:
    """Every topic named in `text`, each with the first term that named it."""
    norm = normalise(text)
    words = set(norm.split())
    squashed = norm.replace(" ", "")
    hits = []
    for topic in topics:
        term = next((s for s in topic.stems if s in squashed), None)
        term = term or next((w for w in topic.words if any(w + sfx in words for sfx in _SUFFIXES)), None)
        term = term or next((z for z in topic.zh if z in squashed), None)
        if term is not None:
            hits.append(Hit(topic, term))
    return hits


def _row(topic: Topic) -> str:
    words = ", ".join(f"`{w}`" for w in topic.words) or "-"
    return f"| {topic.title} | {', '.join(topic.stems)} | {words} | {'、'.join(topic.zh)} |"


def render_markdown() -> str:
    """The term lists as the policy README shows them."""
    head = "| topic | stems (English, pinyin) | whole words | 中文 |\n|---|---|---|---|"
    protected = "\n".join(_row(t) for t in PROTECTED_SERVICES)
    never = "\n".join(_row(t) for t in NEVER_IN_SCOPE)
    return (
        "### Protected services (principle 3)\n\n"
        f"{head}\n{protected}\n\n"
        "### Never in scope (principle 8)\n\n"
        f"{head}\n{never}\n"
    )


if __name__ == "__main__":
    sys.stdout.write(render_markdown())
