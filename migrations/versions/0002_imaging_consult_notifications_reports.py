"""imaging, consult rooms, notifications and notices, SLA policy, report indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 02:01:16.678176
"""

from alembic import op
import sqlalchemy as sa
import referral.models.base  # noqa: F401 - the column types
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stored_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('created_at', referral.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stored_files')),
    sa.UniqueConstraint('sha256', name=op.f('uq_stored_files_sha256'))
    )
    op.create_table('emergency_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('audience', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('sent_at', referral.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resent_at', referral.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resend_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_emergency_notices_author_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_emergency_notices'))
    )
    with op.batch_alter_table('emergency_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_emergency_notices_sent_at'), ['sent_at'], unique=False)

    op.create_table('sla_policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('urgency', sa.String(length=16), nullable=False),
    sa.Column('tier', sa.String(length=16), nullable=True),
    sa.Column('claim_minutes', sa.Integer(), nullable=False),
    sa.Column('advice_minutes', sa.Integer(), nullable=False),
    sa.Column('on_breach', sa.String(length=16), nullable=False),
    sa.Column('updated_at', referral.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_sla_policy_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_policy')),
    sa.UniqueConstraint('urgency', 'tier', name=op.f('uq_sla_policy_urgency'))
    )
    op.create_table('attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', referral.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_attachments_case_id_cases')),
    sa.ForeignKeyConstraint(['file_id'], ['stored_files.id'], name=op.f('fk_attachments_file_id_stored_files')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_attachments_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments')),
    sa.UniqueConstraint('case_id', 'file_id', name=op.f('uq_attachments_case_id'))
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachments_case_id'), ['case_id'], unique=False)

    op.create_table('consult_invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('invitee_id', sa.Integer(), nullable=False),
    sa.Column('inviter_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', referral.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', referral.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_consult_invitations_case_id_cases')),
    sa.ForeignKeyConstraint(['invitee_id'], ['users.id'], name=op.f('fk_consult_invitations_invitee_id_users')),
    sa.ForeignKeyConstraint(['inviter_id'], ['users.id'], name=op.f('fk_consult_invitations_inviter_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consult_invitations'))
    )
    with op.batch_alter_table('consult_invitations', schema=None) as batch_op:
        batch_op.create_index('ix_consult_invitations_case_invitee', ['case_id', 'invitee_id'], unique=True)
        batch_op.create_index(batch_op.f('ix_consult_invitations_invitee_id'), ['invitee_id'], unique=False)

    op.create_table('consult_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('open_case_id', sa.Integer(), nullable=True),
    sa.Column('started_by_id', sa.Integer(), nullable=True),
    sa.Column('started_at', referral.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', referral.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('duration_seconds', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_consult_sessions_case_id_cases')),
    sa.ForeignKeyConstraint(['open_case_id'], ['cases.id'], name=op.f('fk_consult_sessions_open_case_id_cases')),
    sa.ForeignKeyConstraint(['started_by_id'], ['users.id'], name=op.f('fk_consult_sessions_started_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consult_sessions')),
    sa.UniqueConstraint('open_case_id', name=op.f('uq_consult_sessions_open_case_id'))
    )
    with op.batch_alter_table('consult_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consult_sessions_case_id'), ['case_id'], unique=False)

    op.create_table('notice_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['notice_id'], ['emergency_notices.id'], name=op.f('fk_notice_attachments_notice_id_emergency_notices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_attachments'))
    )
    with op.batch_alter_table('notice_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_attachments_notice_id'), ['notice_id'], unique=False)

    op.create_table('notice_targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('send_count', sa.Integer(), nullable=False),
    sa.Column('last_sent_at', referral.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', referral.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['users.id'], name=op.f('fk_notice_targets_acknowledged_by_id_users')),
    sa.ForeignKeyConstraint(['facility_id'], ['facilities.id'], name=op.f('fk_notice_targets_facility_id_facilities')),
    sa.ForeignKeyConstraint(['notice_id'], ['emergency_notices.id'], name=op.f('fk_notice_targets_notice_id_emergency_notices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_targets')),
    sa.UniqueConstraint('notice_id', 'facility_id', name=op.f('uq_notice_targets_notice_id'))
    )
    with op.batch_alter_table('notice_targets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_targets_facility_id'), ['facility_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_targets_notice_id'), ['notice_id'], unique=False)

    op.create_table('studies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_uid', sa.String(length=64), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('inbox_facility_id', sa.Integer(), nullable=True),
    sa.Column('patient_name', sa.String(length=200), nullable=False),
    sa.Column('patient_id', sa.String(length=64), nullable=False),
    sa.Column('patient_sex', sa.String(length=16), nullable=False),
    sa.Column('patient_birth_date', sa.Date(), nullable=True),
    sa.Column('study_date', sa.Date(), nullable=True),
    sa.Column('study_time', sa.String(length=16), nullable=False),
    sa.Column('accession_number', sa.String(length=16), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('modalities', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('instance_count', sa.Integer(), nullable=False),
    sa.Column('total_bytes', sa.BigInteger(), nullable=False),
    sa.Column('safety', sa.String(length=16), nullable=False),
    sa.Column('differences', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.Column('confirmed_at', referral.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', referral.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', referral.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_studies_added_by_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_studies_case_id_cases')),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['users.id'], name=op.f('fk_studies_confirmed_by_id_users')),
    sa.ForeignKeyConstraint(['inbox_facility_id'], ['facilities.id'], name=op.f('fk_studies_inbox_facility_id_facilities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_studies')),
    sa.UniqueConstraint('case_id', 'study_uid', name=op.f('uq_studies_case_id')),
    sa.UniqueConstraint('inbox_facility_id', 'study_uid', name=op.f('uq_studies_inbox_facility_id'))
    )
    with op.batch_alter_table('studies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_studies_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_studies_inbox_facility_id'), ['inbox_facility_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_studies_study_uid'), ['study_uid'], unique=False)

    op.create_table('upload_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('created_at', referral.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', referral.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_upload_sessions_case_id_cases')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_upload_sessions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_upload_sessions')),
    sa.UniqueConstraint('token', name=op.f('uq_upload_sessions_token'))
    )
    with op.batch_alter_table('upload_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_upload_sessions_case_id'), ['case_id'], unique=False)

    op.create_table('consult_participants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('sid', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('joined_at', referral.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('left_at', referral.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['session_id'], ['consult_sessions.id'], name=op.f('fk_consult_participants_session_id_consult_sessions')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_consult_participants_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consult_participants'))
    )
    with op.batch_alter_table('consult_participants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consult_participants_session_id'), ['session_id'], unique=False)
        batch_op.create_index('ix_consult_participants_sid', ['sid'], unique=False)

    op.create_table('consult_recordings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', referral.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('stop_requested_at', referral.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', referral.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('duration_seconds', sa.Float(), nullable=True),
    sa.Column('path', sa.String(length=300), nullable=True),
    sa.Column('content_type', sa.String(length=60), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('error', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_consult_recordings_case_id_cases')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_consult_recordings_requested_by_id_users')),
    sa.ForeignKeyConstraint(['session_id'], ['consult_sessions.id'], name=op.f('fk_consult_recordings_session_id_consult_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consult_recordings'))
    )
    with op.batch_alter_table('consult_recordings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consult_recordings_case_id'), ['case_id'], unique=False)

    op.create_table('series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('series_uid', sa.String(length=64), nullable=False),
    sa.Column('modality', sa.String(length=16), nullable=False),
    sa.Column('number', sa.Integer(), nullable=True),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('body_part', sa.String(length=64), nullable=False),
    sa.Column('instance_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['study_id'], ['studies.id'], name=op.f('fk_series_study_id_studies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_series')),
    sa.UniqueConstraint('study_id', 'series_uid', name=op.f('uq_series_study_id'))
    )
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_series_study_id'), ['study_id'], unique=False)

    op.create_table('sla_marks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hop_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('due_at', referral.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('handled_at', referral.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_sla_marks_case_id_cases')),
    sa.ForeignKeyConstraint(['hop_id'], ['hops.id'], name=op.f('fk_sla_marks_hop_id_hops')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_marks')),
    sa.UniqueConstraint('hop_id', 'kind', 'due_at', name=op.f('uq_sla_marks_hop_id'))
    )
    with op.batch_alter_table('sla_marks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sla_marks_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sla_marks_hop_id'), ['hop_id'], unique=False)

    op.create_table('instances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('sop_uid', sa.String(length=64), nullable=False),
    sa.Column('sop_class_uid', sa.String(length=64), nullable=False),
    sa.Column('transfer_syntax', sa.String(length=64), nullable=False),
    sa.Column('number', sa.Integer(), nullable=True),
    sa.Column('sort_key', sa.Float(), nullable=False),
    sa.Column('frames', sa.Integer(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('columns', sa.Integer(), nullable=False),
    sa.Column('facts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('created_at', referral.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['stored_files.id'], name=op.f('fk_instances_file_id_stored_files')),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], name=op.f('fk_instances_series_id_series')),
    sa.ForeignKeyConstraint(['study_id'], ['studies.id'], name=op.f('fk_instances_study_id_studies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instances')),
    sa.UniqueConstraint('study_id', 'sop_uid', name=op.f('uq_instances_study_id'))
    )
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instances_file_id'), ['file_id'], unique=False)
        batch_op.create_index('ix_instances_series_sort', ['series_id', 'sort_key'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('notice_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('link', sa.String(length=300), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', referral.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', referral.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_notifications_case_id_cases')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_notifications_event_id_events')),
    sa.ForeignKeyConstraint(['notice_id'], ['emergency_notices.id'], name=op.f('fk_notifications_notice_id_emergency_notices')),
    sa.ForeignKeyConstraint(['recipient_id'], ['users.id'], name=op.f('fk_notifications_recipient_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_notice_id'), ['notice_id'], unique=False)
        batch_op.create_index('ix_notifications_recipient_id_id', ['recipient_id', 'id'], unique=False)
        batch_op.create_index('ix_notifications_recipient_unread', ['recipient_id', 'read_at'], unique=False)

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_status_updated', ['status', 'updated_at', 'id'], unique=False)
        batch_op.create_index('ix_cases_submitted_report', ['submitted_at', 'origin_facility_id', 'status', 'outcome', 'urgency', 'specialty', 'id'], unique=False)
        batch_op.create_index('ix_cases_updated', ['updated_at', 'id'], unique=False)

    with op.batch_alter_table('hops', schema=None) as batch_op:
        batch_op.create_index('ix_hops_opened_report', ['opened_at', 'case_id', 'facility_id', 'tier', 'specialty', 'outcome', 'claimed_at', 'closed_at', 'due_claim_at', 'due_advice_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('hops', schema=None) as batch_op:
        batch_op.drop_index('ix_hops_opened_report')

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_updated')
        batch_op.drop_index('ix_cases_submitted_report')
        batch_op.drop_index('ix_cases_status_updated')

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_recipient_unread')
        batch_op.drop_index('ix_notifications_recipient_id_id')
        batch_op.drop_index(batch_op.f('ix_notifications_notice_id'))
        batch_op.drop_index(batch_op.f('ix_notifications_case_id'))

    op.drop_table('notifications')
    with op.batch_alter_table('instances', schema=None) as batch_op:
        batch_op.drop_index('ix_instances_series_sort')
        batch_op.drop_index(batch_op.f('ix_instances_file_id'))

    op.drop_table('instances')
    with op.batch_alter_table('sla_marks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sla_marks_hop_id'))
        batch_op.drop_index(batch_op.f('ix_sla_marks_case_id'))

    op.drop_table('sla_marks')
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_series_study_id'))

    op.drop_table('series')
    with op.batch_alter_table('consult_recordings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consult_recordings_case_id'))

    op.drop_table('consult_recordings')
    with op.batch_alter_table('consult_participants', schema=None) as batch_op:
        batch_op.drop_index('ix_consult_participants_sid')
        batch_op.drop_index(batch_op.f('ix_consult_participants_session_id'))

    op.drop_table('consult_participants')
    with op.batch_alter_table('upload_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_upload_sessions_case_id'))

    op.drop_table('upload_sessions')
    with op.batch_alter_table('studies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_studies_study_uid'))
        batch_op.drop_index(batch_op.f('ix_studies_inbox_facility_id'))
        batch_op.drop_index(batch_op.f('ix_studies_case_id'))

    op.drop_table('studies')
    with op.batch_alter_table('notice_targets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_targets_notice_id'))
        batch_op.drop_index(batch_op.f('ix_notice_targets_facility_id'))

    op.drop_table('notice_targets')
    with op.batch_alter_table('notice_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_attachments_notice_id'))

    op.drop_table('notice_attachments')
    with op.batch_alter_table('consult_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consult_sessions_case_id'))

    op.drop_table('consult_sessions')
    with op.batch_alter_table('consult_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consult_invitations_invitee_id'))
        batch_op.drop_index('ix_consult_invitations_case_invitee')

    op.drop_table('consult_invitations')
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachments_case_id'))

    op.drop_table('attachments')
    op.drop_table('sla_policy')
    with op.batch_alter_table('emergency_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_emergency_notices_sent_at'))

    op.drop_table('emergency_notices')
    op.drop_table('stored_files')
