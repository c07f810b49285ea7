"""Category labels in ONS (or NISRA) order: the exact published labels the tables must carry."""

from __future__ import annotations

ETHNIC_GROUP = [
    "Asian, Asian British or Asian Welsh: Bangladeshi",
    "Asian, Asian British or Asian Welsh: Chinese",
    "Asian, Asian British or Asian Welsh: Indian",
    "Asian, Asian British or Asian Welsh: Pakistani",
    "Asian, Asian British or Asian Welsh: Other Asian",
    "Black, Black British, Black Welsh, Caribbean or African: African",
    "Black, Black British, Black Welsh, Caribbean or African: Caribbean",
    "Black, Black British, Black Welsh, Caribbean or African: Other Black",
    "Mixed or Multiple ethnic groups: White and Asian",
    "Mixed or Multiple ethnic groups: White and Black African",
    "Mixed or Multiple ethnic groups: White and Black Caribbean",
    "Mixed or Multiple ethnic groups: Other Mixed or Multiple ethnic groups",
    "White: English, Welsh, Scottish, Northern Irish or British",
    "White: Irish",
    "White: Gypsy or Irish Traveller",
    "White: Roma",
    "White: Other White",
    "Other ethnic group: Arab",
    "Other ethnic group: Any other ethnic group",
]


ETHNIC_GROUP_BROAD = [
    "Asian, Asian British or Asian Welsh",
    "Black, Black British, Black Welsh, Caribbean or African",
    "Mixed or Multiple ethnic groups",
    "White",
    "Other ethnic group",
]


# The 16+ custom dataset uses an 8-category ethnic group with White split three ways.
ETHNIC_8_TO_BROAD = {
    "Asian, Asian British or Asian Welsh": "Asian, Asian British or Asian Welsh",
    "Black, Black British, Black Welsh, Caribbean or African": (
        "Black, Black British, Black Welsh, Caribbean or African"
    ),
    "Mixed or Multiple ethnic groups": "Mixed or Multiple ethnic groups",
    "White: English, Welsh, Scottish, Northern Irish or British": "White",
    "White: Irish": "White",
    "White: Gypsy or Irish Traveller, Roma or Other White": "White",
    "Other ethnic group": "Other ethnic group",
}


DISABILITY = ["Disabled under the Equality Act", "Not disabled under the Equality Act"]


DISABILITY_4_TO_2 = {
    "Disabled under the Equality Act: Day-to-day activities limited a lot": DISABILITY[0],
    "Disabled under the Equality Act: Day-to-day activities limited a little": DISABILITY[0],
    "Not disabled under the Equality Act": DISABILITY[1],
}


RELIGION = [
    "No religion",
    "Christian",
    "Buddhist",
    "Hindu",
    "Jewish",
    "Muslim",
    "Sikh",
    "Other religion",
    "Not answered",
]


TENURE = [
    "Owned: Owns outright",
    "Owned: Owns with a mortgage or loan",
    "Shared ownership: Shared ownership",
    "Social rented: Rents from council or Local Authority",
    "Social rented: Other social rented",
    "Private rented: Private landlord or letting agency",
    "Private rented: Other private rented",
    "Lives rent free",
]


TENURE_PERSONS = [
    "Owned: Owns outright",
    "Owned: Owns with a mortgage or loan or shared ownership",
    "Rented: Social rented",
    "Private rented or lives rent free",
]


HOUSEHOLD_DEPRIVATION = [
    "Household is not deprived in any dimension",
    "Household is deprived in one dimension",
    "Household is deprived in two dimensions",
    "Household is deprived in three dimensions",
    "Household is deprived in four dimensions",
]


UNPAID_CARE = [
    "Provides no unpaid care",
    "Provides 9 hours or less unpaid care a week",
    "Provides 10 to 19 hours unpaid care a week",
    "Provides 20 to 34 hours unpaid care a week",
    "Provides 35 to 49 hours unpaid care a week",
    "Provides 50 or more hours unpaid care a week",
]


UNPAID_CARE_BROAD = [
    "Provides no unpaid care",
    "Provides 19 or less hours unpaid care a week",
    "Provides 20 to 49 hours unpaid care a week",
    "Provides 50 or more hours unpaid care a week",
]


UNPAID_CARE_TO_BROAD = dict(
    zip(
        UNPAID_CARE,
        [UNPAID_CARE_BROAD[i] for i in (0, 1, 1, 2, 2, 3)],
        strict=True,
    )
)


ENGLISH_PROFICIENCY = [
    "Main language is English (English or Welsh in Wales)",
    "Main language is not English (English or Welsh in Wales): Can speak English very well",
    "Main language is not English (English or Welsh in Wales): Can speak English well",
    "Main language is not English (English or Welsh in Wales): Cannot speak English well",
    "Main language is not English (English or Welsh in Wales): Cannot speak English",
]


SEXUAL_ORIENTATION = [
    "Straight or Heterosexual",
    "Gay or Lesbian",
    "Bisexual",
    "All other sexual orientations",
    "Not answered",
]


GENDER_IDENTITY = [
    "Gender identity the same as sex registered at birth",
    "Gender identity different from sex registered at birth but no specific identity given",
    "Trans woman",
    "Trans man",
    "All other gender identities",
    "Not answered",
]


ECONOMIC_ACTIVITY = [
    "Economically active (excluding full-time students): In employment",
    "Economically active (excluding full-time students): Unemployed: Seeking work or waiting "
    "to start a job already obtained: Available to start working within 2 weeks",
    "Economically active and a full-time student: In employment",
    "Economically active and a full-time student: Unemployed: Seeking work or waiting to "
    "start a job already obtained: Available to start working within 2 weeks",
    "Economically inactive: Retired",
    "Economically inactive: Student",
    "Economically inactive: Looking after home or family",
    "Economically inactive: Long-term sick or disabled",
    "Economically inactive: Other",
]


LEGAL_PARTNERSHIP = [
    "Never married and never registered a civil partnership",
    "Married",
    "In a registered civil partnership",
    "Separated, but still legally married or still legally in a civil partnership",
    "Divorced or formerly in a civil partnership which is now legally dissolved",
    "Widowed or surviving partner from a civil partnership",
]


SEX = ["Female", "Male"]


ALL_PERSONS = "All persons"


# NISRA labels are kept as NISRA publishes them. demographr renamed the MS-B01
# column headers; this maps its names back to the NISRA headers (its data-raw script
# lists both).
NI_ETHNIC_FROM_DEMOGRAPHR = {
    "White": "White",
    "White: Irish Traveller": "Irish Traveller",
    "White: Roma": "Roma",
    "Asian: Indian": "Indian",
    "Asian: Chinese": "Chinese",
    "Asian: Filipino": "Filipino",
    "Asian: Pakistani": "Pakistani",
    "Arab": "Arab",
    "Other Asian": "Other Asian",
    "Black: African": "Black African",
    "Other Black": "Black Other",
    "Mixed ethnic groups": "Mixed",
    "Other ethnicities": "Other ethnicities",
}


NI_ETHNIC_GROUP = list(NI_ETHNIC_FROM_DEMOGRAPHR.values())


NI_RELIGION = [
    "Catholic",
    "Presbyterian Church in Ireland",
    "Church of Ireland",
    "Methodist Church in Ireland",
    "Other Christian (including Christian related)",
    "Other religions",
    "No religion",
    "Religion not stated",
]


NI_SEXUAL_ORIENTATION = [
    "Straight or heterosexual",
    "Gay or lesbian",
    "Bisexual",
    "Other sexual orientation",
    "Prefer not to say",
    "Not stated",
]


GENDER_IDENTITY_CAVEAT = (
    "Census 2021 gender identity estimates were reclassified as 'official statistics in "
    "development' in September 2024 (OSR review; ONS guidance of 26 March 2025): some "
    "respondents, notably those with lower English proficiency, may have misread the "
    "question. Use headline comparisons only, not sub-category shares as precise denominators."
)


EW_COUNTRY = "K04000001"


ENGLAND = "E92000001"


WALES = "W92000004"


NI = "N92000002"
