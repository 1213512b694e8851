//! Jurisdictions, their assessments, assurances and frameworks, requesting authorities, and
//! the record of registry changes.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{
    authorities, cooperation_frameworks, death_penalty_assurances, human_rights_assessments,
    jurisdictions, registry_changes,
};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = jurisdictions)]
pub struct JurisdictionRow {
    pub id: String,
    pub name: String,
    pub country_code: String,
    pub death_penalty_status: String,
    /// JSON: `[{"basis": …, "crimes": [...]}]`.
    pub competence_bases: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Counts the changes made through `update_jurisdiction` (the ETag of its PATCH).
    pub version: i64,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = jurisdictions)]
pub struct JurisdictionChanges {
    pub name: Option<String>,
    pub country_code: Option<String>,
    pub death_penalty_status: Option<String>,
    pub competence_bases: Option<String>,
    pub active: Option<bool>,
    pub updated_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = human_rights_assessments)]
pub struct AssessmentRow {
    pub id: String,
    pub jurisdiction_id: String,
    pub outcome: String,
    pub assessed_on: NaiveDate,
    pub review_due: NaiveDate,
    pub assessor: String,
    pub summary: String,
    pub recorded_by: String,
    pub recorded_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = death_penalty_assurances)]
pub struct AssuranceRow {
    pub id: String,
    pub jurisdiction_id: String,
    pub reference: String,
    pub given_on: NaiveDate,
    /// JSON array of crimes; empty = every crime.
    pub scope: String,
    pub expires_on: Option<NaiveDate>,
    pub recorded_by: String,
    pub recorded_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = cooperation_frameworks)]
pub struct FrameworkRow {
    pub id: String,
    pub jurisdiction_id: String,
    pub kind: String,
    pub reference: String,
    pub signed_on: NaiveDate,
    pub recorded_by: String,
    pub recorded_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = authorities)]
pub struct AuthorityRow {
    pub id: String,
    pub jurisdiction_id: String,
    pub name: String,
    pub kind: String,
    pub contact_email: Option<String>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Counts the changes made through `update_authority` (the ETag of its PATCH).
    pub version: i64,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = authorities)]
pub struct AuthorityChanges {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub contact_email: Option<Option<String>>,
    pub active: Option<bool>,
    pub updated_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = registry_changes)]
pub struct ChangeRow {
    pub id: String,
    pub jurisdiction_id: String,
    pub entity: String,
    pub entity_id: String,
    pub action: String,
    pub actor_id: String,
    pub at: NaiveDateTime,
    /// JSON of the values after the change.
    pub details: String,
}

pub fn insert_jurisdiction(conn: &mut DbConnection, row: &JurisdictionRow) -> QueryResult<()> {
    diesel::insert_into(jurisdictions::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find_jurisdiction(
    conn: &mut DbConnection,
    id: &str,
) -> QueryResult<Option<JurisdictionRow>> {
    jurisdictions::table
        .find(id)
        .select(JurisdictionRow::as_select())
        .first(conn)
        .optional()
}

/// Whether another jurisdiction already has the name.
pub fn jurisdiction_name_taken(
    conn: &mut DbConnection,
    name: &str,
    except: &str,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        jurisdictions::table
            .filter(jurisdictions::name.eq(name))
            .filter(jurisdictions::id.ne(except)),
    ))
    .get_result(conn)
}

pub fn update_jurisdiction(
    conn: &mut DbConnection,
    id: &str,
    changes: &JurisdictionChanges,
) -> QueryResult<usize> {
    diesel::update(jurisdictions::table.find(id))
        .set((
            changes,
            jurisdictions::version.eq(jurisdictions::version + 1),
        ))
        .execute(conn)
}

pub fn list_jurisdictions(
    conn: &mut DbConnection,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<JurisdictionRow>> {
    let mut q = jurisdictions::table
        .select(JurisdictionRow::as_select())
        .order(jurisdictions::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(jurisdictions::id.gt(after.to_string()));
    }
    q.load(conn)
}

/// Those of `ids` that name a jurisdiction.
pub fn existing_jurisdictions(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<String>> {
    jurisdictions::table
        .filter(jurisdictions::id.eq_any(ids))
        .select(jurisdictions::id)
        .load(conn)
}

pub fn insert_assessment(conn: &mut DbConnection, row: &AssessmentRow) -> QueryResult<()> {
    diesel::insert_into(human_rights_assessments::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Newest first: by assessment date, then by when it was recorded.
pub fn assessments_of(
    conn: &mut DbConnection,
    jurisdiction_id: &str,
) -> QueryResult<Vec<AssessmentRow>> {
    human_rights_assessments::table
        .filter(human_rights_assessments::jurisdiction_id.eq(jurisdiction_id))
        .select(AssessmentRow::as_select())
        .order((
            human_rights_assessments::assessed_on.desc(),
            human_rights_assessments::id.desc(),
        ))
        .load(conn)
}

pub fn insert_assurance(conn: &mut DbConnection, row: &AssuranceRow) -> QueryResult<()> {
    diesel::insert_into(death_penalty_assurances::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn assurances_of(
    conn: &mut DbConnection,
    jurisdiction_id: &str,
) -> QueryResult<Vec<AssuranceRow>> {
    death_penalty_assurances::table
        .filter(death_penalty_assurances::jurisdiction_id.eq(jurisdiction_id))
        .select(AssuranceRow::as_select())
        .order((
            death_penalty_assurances::given_on.desc(),
            death_penalty_assurances::id.desc(),
        ))
        .load(conn)
}

pub fn insert_framework(conn: &mut DbConnection, row: &FrameworkRow) -> QueryResult<()> {
    diesel::insert_into(cooperation_frameworks::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn frameworks_of(
    conn: &mut DbConnection,
    jurisdiction_id: &str,
) -> QueryResult<Vec<FrameworkRow>> {
    cooperation_frameworks::table
        .filter(cooperation_frameworks::jurisdiction_id.eq(jurisdiction_id))
        .select(FrameworkRow::as_select())
        .order((
            cooperation_frameworks::signed_on.desc(),
            cooperation_frameworks::id.desc(),
        ))
        .load(conn)
}

pub fn insert_authority(conn: &mut DbConnection, row: &AuthorityRow) -> QueryResult<()> {
    diesel::insert_into(authorities::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find_authority(
    conn: &mut DbConnection,
    jurisdiction_id: &str,
    id: &str,
) -> QueryResult<Option<AuthorityRow>> {
    authorities::table
        .find(id)
        .filter(authorities::jurisdiction_id.eq(jurisdiction_id))
        .select(AuthorityRow::as_select())
        .first(conn)
        .optional()
}

pub fn authority_name_taken(
    conn: &mut DbConnection,
    jurisdiction_id: &str,
    name: &str,
    except: &str,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        authorities::table
            .filter(authorities::jurisdiction_id.eq(jurisdiction_id))
            .filter(authorities::name.eq(name))
            .filter(authorities::id.ne(except)),
    ))
    .get_result(conn)
}

pub fn update_authority(
    conn: &mut DbConnection,
    id: &str,
    changes: &AuthorityChanges,
) -> QueryResult<usize> {
    diesel::update(authorities::table.find(id))
        .set((changes, authorities::version.eq(authorities::version + 1)))
        .execute(conn)
}

pub fn authorities_of(
    conn: &mut DbConnection,
    jurisdiction_id: &str,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<AuthorityRow>> {
    let mut q = authorities::table
        .filter(authorities::jurisdiction_id.eq(jurisdiction_id))
        .select(AuthorityRow::as_select())
        .order(authorities::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(authorities::id.gt(after.to_string()));
    }
    q.load(conn)
}

pub fn record_change(conn: &mut DbConnection, row: &ChangeRow) -> QueryResult<()> {
    diesel::insert_into(registry_changes::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Oldest first (ids are UUIDv7, so in the order the changes were made).
pub fn changes_of(
    conn: &mut DbConnection,
    jurisdiction_id: &str,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<ChangeRow>> {
    let mut q = registry_changes::table
        .filter(registry_changes::jurisdiction_id.eq(jurisdiction_id))
        .select(ChangeRow::as_select())
        .order(registry_changes::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(registry_changes::id.gt(after.to_string()));
    }
    q.load(conn)
}

/// Names of the given jurisdictions, as (id, name): the places a list page names.
pub fn jurisdiction_names_of(
    conn: &mut DbConnection,
    ids: &[String],
) -> QueryResult<Vec<(String, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let q = jurisdictions::table.select((jurisdictions::id, jurisdictions::name));
    match conn.backend() {
        super::Backend::Sqlite => q.filter(super::any_of(jurisdictions::id, ids)).load(conn),
        super::Backend::Postgres => q.filter(jurisdictions::id.eq_any(ids)).load(conn),
    }
}
