"""Made-up users of "Qube", a Japanese B2B service: mostly Japanese names and companies.

Addresses only use reserved domains (RFC 2606/6761): company domains under ``.example``,
"free mail" at ``example.com``/``.net``/``.org``, and dead company domains under ``.invalid``
(the users whose mail bounces NoEmail because the domain does not exist).
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

# (kanji, romaji)
SURNAMES = [
    ("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi"), ("田中", "tanaka"),
    ("伊藤", "ito"), ("渡辺", "watanabe"), ("山本", "yamamoto"), ("中村", "nakamura"),
    ("小林", "kobayashi"), ("加藤", "kato"), ("吉田", "yoshida"), ("山田", "yamada"),
    ("佐々木", "sasaki"), ("山口", "yamaguchi"), ("松本", "matsumoto"), ("井上", "inoue"),
    ("木村", "kimura"), ("林", "hayashi"), ("斎藤", "saito"), ("清水", "shimizu"),
    ("山崎", "yamazaki"), ("森", "mori"), ("池田", "ikeda"), ("橋本", "hashimoto"),
    ("阿部", "abe"), ("石川", "ishikawa"), ("前田", "maeda"), ("藤田", "fujita"),
    ("小川", "ogawa"), ("岡田", "okada"), ("後藤", "goto"), ("長谷川", "hasegawa"),
    ("村上", "murakami"), ("近藤", "kondo"), ("石井", "ishii"), ("坂本", "sakamoto"),
    ("遠藤", "endo"), ("青木", "aoki"), ("藤井", "fujii"), ("西村", "nishimura"),
]  # fmt: skip
GIVEN_NAMES = [
    ("翔太", "shota"), ("蓮", "ren"), ("大輝", "daiki"), ("健太", "kenta"), ("拓也", "takuya"),
    ("直樹", "naoki"), ("誠", "makoto"), ("浩二", "koji"), ("剛", "tsuyoshi"), ("亮", "ryo"),
    ("大輔", "daisuke"), ("和也", "kazuya"), ("隆", "takashi"), ("悠斗", "yuto"),
    ("陽菜", "hina"), ("結衣", "yui"), ("美咲", "misaki"), ("さくら", "sakura"),
    ("葵", "aoi"), ("優子", "yuko"), ("恵", "megumi"), ("由美", "yumi"), ("麻衣", "mai"),
    ("愛", "ai"), ("彩", "aya"), ("真由美", "mayumi"), ("裕子", "hiroko"), ("智子", "tomoko"),
    ("花子", "hanako"), ("明美", "akemi"), ("千尋", "chihiro"), ("遥", "haruka"),
]  # fmt: skip
# (name, domain slug)
JP_COMPANIES = [
    ("株式会社さくら商事", "sakura-shoji"), ("青葉システム株式会社", "aoba-systems"),
    ("株式会社みなと物流", "minato-logi"), ("東和精機株式会社", "towa-seiki"),
    ("株式会社ひかり企画", "hikari-kikaku"), ("北斗ソリューションズ株式会社", "hokuto-sol"),
    ("株式会社つばめ不動産", "tsubame-re"), ("大和テクノ株式会社", "yamato-techno"),
    ("株式会社はなまる食品", "hanamaru-foods"), ("富士見電機株式会社", "fujimi-denki"),
    ("株式会社いろは設計", "iroha-sekkei"), ("瀬戸内海運株式会社", "setouchi-kaiun"),
    ("株式会社あおぞら保険サービス", "aozora-hoken"), ("中央印刷株式会社", "chuo-print"),
    ("株式会社こだま薬品", "kodama-yakuhin"), ("関東建設株式会社", "kanto-kensetsu"),
    ("株式会社ゆずデザイン", "yuzu-design"), ("日本橋商会株式会社", "nihonbashi-shokai"),
    ("株式会社みらい教育", "mirai-edu"), ("京浜フーズ株式会社", "keihin-foods"),
    ("株式会社しずく化粧品", "shizuku-cosme"), ("双葉ネットワークス株式会社", "futaba-net"),
]  # fmt: skip
WESTERN_FIRST = ["Emma", "Liam", "Olivia", "Noah", "Ava", "Lucas", "Mia", "Ethan", "Sophie",
                 "James", "Chloe", "Daniel", "Grace", "Owen", "Hannah", "Leo"]  # fmt: skip
WESTERN_LAST = ["Smith", "Brown", "Wilson", "Taylor", "Martin", "Lee", "Walker", "Clark",
                "Lewis", "Young", "Hall", "Allen", "King", "Wright", "Scott", "Green"]  # fmt: skip
WESTERN_COMPANIES = [
    ("Northwind Traders", "northwind"), ("Contoso Pacific", "contoso-pacific"),
    ("Fabrikam Asia", "fabrikam-asia"), ("Tailspin Logistics", "tailspin"),
    ("Blue Yonder Travel", "blueyonder"), ("Coho Analytics", "coho-analytics"),
]  # fmt: skip
FREE_MAIL = ["example.com", "example.net", "example.org"]
JAPANESE_SHARE = 0.8
FREE_MAIL_SHARE = 0.2
DEAD_DOMAIN_SHARE = 0.02


@dataclass(frozen=True)
class User:
    email: str
    user_id: str
    name: str
    company: str


def make_users(rng: random.Random, count: int = 3000) -> list[User]:
    """``count`` users with unique addresses, in user-id order."""
    users: list[User] = []
    taken: set[str] = set()
    while len(users) < count:
        name, local, company, domain = _person(rng)
        email = _unique(f"{local}@{domain}", taken, rng)
        users.append(User(email, str(100001 + len(users)), name, company))
    return users


def write_users_csv(users: list[User], path: Path) -> Path:
    """Write ``email,user_id,name,company`` as UTF-8 (with header)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "user_id", "name", "company"])
        writer.writerows([u.email, u.user_id, u.name, u.company] for u in users)
    return path


def _person(rng: random.Random) -> tuple[str, str, str, str]:
    """(display name, local part, company, domain) of one made-up person."""
    if rng.random() < JAPANESE_SHARE:
        (sur_kanji, sur), (given_kanji, given) = rng.choice(SURNAMES), rng.choice(GIVEN_NAMES)
        name, company, slug = f"{sur_kanji} {given_kanji}", *rng.choice(JP_COMPANIES)
        local = rng.choice([f"{given}.{sur}", f"{sur}.{given}", f"{given[0]}.{sur}", sur])
    else:
        first, last = rng.choice(WESTERN_FIRST), rng.choice(WESTERN_LAST)
        name, company, slug = f"{first} {last}", *rng.choice(WESTERN_COMPANIES)
        local = rng.choice([f"{first}.{last}", f"{first[0]}{last}"]).lower()
    roll = rng.random()
    if roll < DEAD_DOMAIN_SHARE:
        return name, local, company, f"{slug}-old.invalid"
    if roll < DEAD_DOMAIN_SHARE + FREE_MAIL_SHARE:
        return name, f"{local}{rng.randint(1, 99)}", company, rng.choice(FREE_MAIL)
    return name, local, company, f"{slug}.example"


def _unique(email: str, taken: set[str], rng: random.Random) -> str:
    while email in taken:
        local, domain = email.split("@")
        email = f"{local.rstrip('0123456789')}{rng.randint(2, 999)}@{domain}"
    taken.add(email)
    return email


def is_dead_domain(email: str) -> bool:
    return email.endswith(".invalid")
