"""The raw formats of the monthly deliveries, as data (see README, "Raw sources").

One entry per source: the file name the generator writes and the names ingest
recognises, separator, quoting, line ends, header, and which columns must parse
as numbers or dates (a value that does not makes the whole line unusable). The
generator writes these formats; the parsers read them; both use this table.
"""

from __future__ import annotations

from dataclasses import dataclass

# Wide headcount files: one `eff<URSSAF period>` column per month between these.
EFFECTIF_PREFIX = "eff"


@dataclass(frozen=True)
class RawFormat:
    source: str  # bronze table name
    file_name: str  # name written by the generator
    patterns: tuple[str, ...]  # file-name stems recognised at ingest (regex, case-insensitive)
    separator: str
    header: tuple[str, ...]  # fixed columns; for wide files, those around the month columns
    quoted: bool = False  # text fields between double quotes
    line_end: str = "\n"
    numeric: tuple[str, ...] = ()  # must parse as numbers when not empty
    dates: tuple[str, ...] = ()  # must parse as dates when not empty
    wide_months: bool = False  # eff<period> columns between header[:split] and header[split:]
    wide_split: int = 0

    def header_line(self, month_columns: tuple[str, ...] = ()) -> str:
        columns = self.header
        if self.wide_months:
            split = self.wide_split
            columns = (*self.header[:split], *month_columns, *self.header[split:])
        if self.quoted:
            return self.separator.join(f'"{c}"' for c in columns)
        return self.separator.join(columns)


SIRENE_HEADER = (
    "siren,nic,siret,statutDiffusionEtablissement,dateCreationEtablissement,"
    "trancheEffectifsEtablissement,anneeEffectifsEtablissement,"
    "activitePrincipaleRegistreMetiersEtablissement,dateDernierTraitementEtablissement,"
    "etablissementSiege,nombrePeriodesEtablissement,complementAdresseEtablissement,"
    "numeroVoieEtablissement,indiceRepetitionEtablissement,typeVoieEtablissement,"
    "libelleVoieEtablissement,codePostalEtablissement,libelleCommuneEtablissement,"
    "libelleCommuneEtrangerEtablissement,distributionSpecialeEtablissement,"
    "codeCommuneEtablissement,codeCedexEtablissement,libelleCedexEtablissement,"
    "codePaysEtrangerEtablissement,libellePaysEtrangerEtablissement,"
    "complementAdresse2Etablissement,numeroVoie2Etablissement,indiceRepetition2Etablissement,"
    "typeVoie2Etablissement,libelleVoie2Etablissement,codePostal2Etablissement,"
    "libelleCommune2Etablissement,libelleCommuneEtranger2Etablissement,"
    "distributionSpeciale2Etablissement,codeCommune2Etablissement,codeCedex2Etablissement,"
    "libelleCedex2Etablissement,codePaysEtranger2Etablissement,libellePaysEtranger2Etablissement,"
    "dateDebut,etatAdministratifEtablissement,enseigne1Etablissement,enseigne2Etablissement,"
    "enseigne3Etablissement,denominationUsuelleEtablissement,activitePrincipaleEtablissement,"
    "nomenclatureActivitePrincipaleEtablissement,caractereEmployeurEtablissement,longitude,"
    "latitude,geo_score,geo_type,geo_adresse,geo_id,geo_ligne,geo_l4,geo_l5"
).split(",")

SIRENE_UL_HEADER = (
    "siren,statutDiffusionUniteLegale,unitePurgeeUniteLegale,dateCreationUniteLegale,"
    "sigleUniteLegale,sexeUniteLegale,prenom1UniteLegale,prenom2UniteLegale,prenom3UniteLegale,"
    "prenom4UniteLegale,prenomUsuelUniteLegale,pseudonymeUniteLegale,"
    "identifiantAssociationUniteLegale,trancheEffectifsUniteLegale,anneeEffectifsUniteLegale,"
    "dateDernierTraitementUniteLegale,nombrePeriodesUniteLegale,categorieEntreprise,"
    "anneeCategorieEntreprise,dateDebut,etatAdministratifUniteLegale,nomUniteLegale,"
    "nomUsageUniteLegale,denominationUniteLegale,denominationUsuelle1UniteLegale,"
    "denominationUsuelle2UniteLegale,denominationUsuelle3UniteLegale,"
    "categorieJuridiqueUniteLegale,activitePrincipaleUniteLegale,"
    "nomenclatureActivitePrincipaleUniteLegale,activitePrincipaleNAF25UniteLegale,"
    "nicSiegeUniteLegale,economieSocialeSolidaireUniteLegale,caractereEmployeurUniteLegale"
).split(",")

DGFIP_KEYS = ("siren", "date_deb_exercice", "date_fin_exercice", "no_ocfi", "annee_exercice")
AF_FIGURES = (
    "mnt_af_ca", "mnt_af_sig_ebe_ret", "mnt_af_sig_va_ret", "mnt_af_endettement_net",
    "mnt_af_bfonc_bfr", "mnt_af_bfonc_tresorerie", "mnt_af_bfonc_actif_circ_expl",
    "mnt_af_bfonc_passif_circ_expl", "mnt_af_bfonc_actif_circ_h_expl",
    "mnt_af_bfonc_passif_circ_h_expl", "nbr_af_jours_creance_cli", "nbr_af_jours_reglt_fourn",
    "rto_af_endettement_a_terme", "rto_af_rent_eco",
)  # fmt: skip
INDMAP_FIGURES = (
    "d_cr_250_expl_salaire", "d_cr_252_expl_ch_soc", "d_cr_260_expl_dt_syndic",
    "d_actf_stk_march_net", "d_actf_stk_mat1e_net", "d_dvs_376_nbr_pers", "d_passf_120_k",
    "d_passf_142_k_propres", "rto_invest_ca", "rto_af_solidite_financiere",
)  # fmt: skip
DIRCO_FIGURES = ("rto_6", "rto_56")

_DATE_SUFFIX = r"(?:[_-]?\d{4,8})?"

FORMATS: dict[str, RawFormat] = {
    f.source: f
    for f in (
        RawFormat(
            source="cotisation",
            file_name="sigfaible_cotisation.csv",
            patterns=(
                rf"sigfaible_cotis(?:ation|dues?)?{_DATE_SUFFIX}",
                rf"cotisation{_DATE_SUFFIX}",
            ),
            separator=";",
            header=(
                "Urssaf_gestion",
                "Dep",
                "Siret",
                "Compte",
                "periode",
                "mer",
                "enc_direct",
                "cotis_due",
            ),  # fmt: skip
            numeric=("enc_direct", "cotis_due"),
            dates=("periode",),
        ),
        RawFormat(
            source="debit",
            file_name="sigfaible_debits.csv",
            patterns=(rf"sigfaible_debits?{_DATE_SUFFIX}", rf"debits?{_DATE_SUFFIX}"),
            separator=";",
            header=(
                "Urssaf_gestion",
                "Dep",
                "num_cpte",
                "Siren",
                "Siret",
                "Dt_immat",
                "Etat_cpte",
                "Cd_pro_col",
                "Periode",
                "Num_Ecn",
                "Num_Hist_Ecn",
                "Dt_trt_ecn",
                "Mt_PO",
                "Mt_PP",
                "Cd_op_ecn",
                "Motif_ecn",
                "Recours_en_cours",
            ),  # fmt: skip
            numeric=("Num_Hist_Ecn", "Mt_PO", "Mt_PP"),
            dates=("Periode", "Dt_trt_ecn"),
        ),
        RawFormat(
            source="delai",
            file_name="sigfaible_delais.csv",
            patterns=(rf"sigfaible_delais?{_DATE_SUFFIX}", rf"delais?{_DATE_SUFFIX}"),
            separator=";",
            header=(
                "Urssaf_gestion",
                "Dep",
                "Siret",
                "Numero_compte_externe",
                "Numero_structure",
                "Date_creation",
                "Date_echeance",
                "Duree_delai",
                "Denomination_premiere_ligne",
                "Indic_6M",
                "Annee_creation",
                "Montant_global_echeancier",
                "Code_externe_stade",
                "Code_externe_action",
            ),  # fmt: skip
            numeric=("Duree_delai", "Montant_global_echeancier"),
            dates=("Date_creation", "Date_echeance"),
        ),
        RawFormat(
            source="ccsf",
            file_name="sigfaible_ccsf.csv",
            patterns=(rf"sigfaible_ccsf{_DATE_SUFFIX}", rf"ccsf{_DATE_SUFFIX}"),
            separator=";",
            header=(
                "Urssaf_gestion",
                "Dep",
                "Siret",
                "Compte",
                "Date_de_traitement",
                "Code_externe_stade",
                "Code_externe_action",
            ),  # fmt: skip
            dates=("Date_de_traitement",),
        ),
        RawFormat(
            source="procol",
            file_name="sigfaible_pcoll.csv",
            patterns=(rf"sigfaible_pcoll{_DATE_SUFFIX}", rf"procol{_DATE_SUFFIX}"),
            separator=";",
            header=("Siret", "Siren", "Dt_effet", "Cat_v2", "Lib_actx_stdx"),
            dates=("Dt_effet",),
        ),
        RawFormat(
            source="effectif",
            file_name="sigfaible_effectif_siret.csv",
            patterns=(rf"sigfaible_effectif_siret{_DATE_SUFFIX}", rf"effectif{_DATE_SUFFIX}"),
            separator=";",
            header=("compte", "siret", "rais_soc", "ape_ins", "dep", "base", "UR_EMET"),
            wide_months=True,
            wide_split=5,
        ),
        RawFormat(
            source="effectif_ent",
            file_name="sigfaible_effectif_siren.csv",
            patterns=(rf"sigfaible_effectif_siren{_DATE_SUFFIX}", rf"effectif_?ent{_DATE_SUFFIX}"),
            separator=";",
            header=("siren", "rais_soc"),
            wide_months=True,
            wide_split=1,
        ),
        RawFormat(
            source="apdemande",
            file_name="act_partielle_ddes.csv",
            patterns=(rf"act_partielle_ddes{_DATE_SUFFIX}(?:_.*)?", rf"apdemande{_DATE_SUFFIX}"),
            separator=",",
            header=(
                "ID_DA",
                "ETAB_SIRET",
                "EFF_ENT",
                "EFF_ETAB",
                "DATE_STATUT",
                "DATE_DEB",
                "DATE_FIN",
                "HTA",
                "MTA",
                "EFF_AUTO",
                "MOTIF_RECOURS_SE",
                "PERIMETRE_AP",
                "S_HEURE_CONSOM_TOT",
                "S_EFF_CONSOM_TOT",
                "S_MONTANT_CONSOM_TOT",
                "RECOURS_ANTERIEUR",
            ),  # fmt: skip
            quoted=True,
            line_end="\r\n",
            numeric=(
                "EFF_ENT",
                "EFF_ETAB",
                "HTA",
                "MTA",
                "EFF_AUTO",
                "S_HEURE_CONSOM_TOT",
                "S_EFF_CONSOM_TOT",
                "S_MONTANT_CONSOM_TOT",
            ),  # fmt: skip
            dates=("DATE_STATUT", "DATE_DEB", "DATE_FIN"),
        ),
        RawFormat(
            source="apconso",
            file_name="act_partielle_conso.csv",
            patterns=(rf"act_partielle_conso{_DATE_SUFFIX}(?:_.*)?", rf"apconso{_DATE_SUFFIX}"),
            separator=",",
            header=("ID_DA", "ETAB_SIRET", "HEURES", "MONTANTS", "EFFECTIFS", "MOIS"),
            quoted=True,
            line_end="\r\n",
            numeric=("HEURES", "MONTANTS", "EFFECTIFS"),
            dates=("MOIS",),
        ),
        RawFormat(
            source="sirene",
            file_name="StockEtablissement_utf8_geo.csv",
            patterns=(
                rf"StockEtablissement(?:_utf8)?(?:_geo)?{_DATE_SUFFIX}",
                rf"sirene{_DATE_SUFFIX}",
            ),
            separator=",",
            header=tuple(SIRENE_HEADER),
        ),
        RawFormat(
            source="sirene_ul",
            file_name="StockUniteLegale_utf8.csv",
            patterns=(rf"StockUniteLegale(?:_utf8)?{_DATE_SUFFIX}", rf"sirene_ul{_DATE_SUFFIX}"),
            separator=",",
            header=tuple(SIRENE_UL_HEADER),
        ),
        RawFormat(
            source="declarations_af",
            file_name="declarations_af.csv",
            patterns=(rf"(?:dgfip_)?declarations_af{_DATE_SUFFIX}",),
            separator="|",
            header=(*DGFIP_KEYS, *AF_FIGURES),
            numeric=("annee_exercice", *AF_FIGURES),
            dates=("date_deb_exercice", "date_fin_exercice"),
        ),
        RawFormat(
            source="declarations_indmap",
            file_name="declarations_indmap.csv",
            patterns=(rf"(?:dgfip_)?declarations_indmap{_DATE_SUFFIX}",),
            separator="|",
            header=(*DGFIP_KEYS, *INDMAP_FIGURES),
            numeric=("annee_exercice", *INDMAP_FIGURES),
            dates=("date_deb_exercice", "date_fin_exercice"),
        ),
        RawFormat(
            source="ratios_dirco",
            file_name="ratios_dirco.csv",
            patterns=(rf"(?:dgfip_)?ratios_dirco{_DATE_SUFFIX}",),
            separator="|",
            header=("siren", "date_deb_exercice", "date_fin_exercice", *DIRCO_FIGURES),
            numeric=DIRCO_FIGURES,
            dates=("date_deb_exercice", "date_fin_exercice"),
        ),
        RawFormat(
            source="judgments",
            file_name="judgments.csv",
            patterns=(rf"(?:dgfip_)?judgments?{_DATE_SUFFIX}", rf"jugements?{_DATE_SUFFIX}"),
            separator="|",
            header=("siren", "djug", "najug"),
            dates=("djug",),
        ),
    )
}
