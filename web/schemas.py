"""Request and response schemas of the public API (they also make the OpenAPI document)."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate


class Strict(Schema):
    class Meta:
        ordered = True


class DefinitionSchema(Strict):
    id = fields.Integer()
    kind = fields.String()
    key = fields.String()
    name = fields.String()
    version = fields.Integer()
    file_name = fields.String()
    deployed_at = fields.DateTime()
    deployed_by = fields.String()
    sha256 = fields.String()
    lanes = fields.List(fields.String())
    start_lane = fields.String(allow_none=True)


class DefinitionDetailSchema(DefinitionSchema):
    xml = fields.String()
    versions = fields.List(fields.Integer())
    start_form = fields.Dict(allow_none=True, metadata={
        "description": "form-js 启动表单 (the form bound to the none start event), or null"})


def definition_kind() -> fields.String:
    """Which kind of deployed file a query is about (a BPMN process unless it says)."""
    return fields.String(validate=validate.OneOf(["bpmn", "dmn", "form"]), load_default="bpmn")


class DefinitionQuery(Schema):
    class Meta:
        unknown = EXCLUDE
    kind = definition_kind()
    all_versions = fields.Boolean(load_default=False)


class VersionQuery(Schema):
    version = fields.Integer(validate=validate.Range(min=1))
    kind = definition_kind()


class DeployedSchema(Strict):
    kind = fields.String()
    key = fields.String()
    name = fields.String()
    version = fields.Integer()
    created = fields.Boolean()


class DeployResultSchema(Strict):
    deployed = fields.List(fields.Nested(DeployedSchema))


class StartSchema(Schema):
    process_key = fields.String(required=True, validate=validate.Length(1, 200))
    business_key = fields.String(load_default=None, allow_none=True,
                                 validate=validate.Length(max=200))
    variables = fields.Dict(keys=fields.String(), load_default=dict)
    version = fields.Integer(load_default=None, allow_none=True,
                             validate=validate.Range(min=1))


class TaskSchema(Strict):
    id = fields.String()
    instance_id = fields.String()
    process_key = fields.String()
    element_id = fields.String()
    name = fields.String()
    lane = fields.String(allow_none=True)
    role = fields.String(allow_none=True)
    state = fields.String()
    assignee = fields.String(allow_none=True)
    business_key = fields.String(allow_none=True)
    scope_key = fields.String(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    overdue = fields.Boolean()
    created_at = fields.DateTime()
    form_key = fields.String(allow_none=True)


class TaskDetailSchema(TaskSchema):
    form = fields.Dict(allow_none=True)
    data = fields.Dict()
    draft = fields.Dict(allow_none=True)
    can_act = fields.Boolean()


class TaskQuery(Schema):
    process_key = fields.String()
    business_key = fields.String()
    district = fields.String(validate=validate.Length(1, 50))
    assignee = fields.String(validate=validate.OneOf(["me"]))
    overdue = fields.Boolean()


class CompleteSchema(Schema):
    data = fields.Dict(keys=fields.String(), load_default=dict)


class WaitingSchema(Strict):
    type = fields.String(metadata={"description": "message | timer | job (async task)"})
    element_id = fields.String()
    task_id = fields.String()
    name = fields.String(allow_none=True)
    correlation = fields.Dict(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    attempts = fields.Integer(metadata={"description": "failed tries of an async task"})


class IncidentSchema(Strict):
    id = fields.Integer()
    task_id = fields.String(allow_none=True)
    element_id = fields.String(allow_none=True)
    kind = fields.String()
    message = fields.String()
    created_at = fields.DateTime()


class InstanceSchema(Strict):
    id = fields.String()
    process_key = fields.String()
    version = fields.Integer()
    business_key = fields.String(allow_none=True)
    scope_key = fields.String(allow_none=True)
    state = fields.String()
    started_by = fields.String()
    started_by_name = fields.String(metadata={"description": "the starter's name, 系统(…) for the platform"})
    started_at = fields.DateTime()
    updated_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)


class InstanceDetailSchema(InstanceSchema):
    variables = fields.Dict()
    tasks = fields.List(fields.Nested(TaskSchema))
    waiting = fields.List(fields.Nested(WaitingSchema))
    incidents = fields.List(fields.Nested(IncidentSchema))
    completed_elements = fields.List(fields.String())


class InstanceQuery(Schema):
    process_key = fields.String()
    state = fields.String(validate=validate.OneOf(["running", "completed", "cancelled", "error"]))
    business_key = fields.String()


class CancelSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(1, 500))


class HistoryEventSchema(Strict):
    seq = fields.Integer()
    at = fields.DateTime()
    actor = fields.String()
    actor_name = fields.String(metadata={"description": "who, as people read it (name, 系统(定时器))"})
    kind = fields.String()
    instance_id = fields.String(allow_none=True)
    task_id = fields.String(allow_none=True)
    details = fields.Dict()
    prev_hash = fields.String()
    hash = fields.String()


class MessageSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 200))
    correlation = fields.Dict(keys=fields.String(), load_default=dict)
    payload = fields.Raw(load_default=None, allow_none=True)
    message_id = fields.String(load_default=None, allow_none=True,
                               validate=validate.Length(1, 200))


class MessageQuery(Schema):
    status = fields.String(validate=validate.OneOf(["buffered", "correlated", "started", "expired"]))
    name = fields.String()


class MessageRecordSchema(Strict):
    id = fields.Integer()
    message_id = fields.String(allow_none=True)
    name = fields.String()
    correlation = fields.Dict()
    payload = fields.Raw(allow_none=True)
    status = fields.String()
    result = fields.Dict()
    sender = fields.String()
    received_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True)


class MessageResultSchema(Strict):
    correlated = fields.List(fields.String())
    started = fields.List(fields.String())
    buffered = fields.Boolean()
    duplicate = fields.Boolean()


class ProjectSchema(Strict):
    code = fields.String()
    name = fields.String()
    district = fields.String()
    address = fields.String(allow_none=True)
    builder_code = fields.String(allow_none=True)
    contractor_code = fields.String(allow_none=True)
    supervisor_code = fields.String(allow_none=True)
    status = fields.String()
    progress = fields.String(allow_none=True)


class ScoreSchema(Strict):
    enterprise_code = fields.String()
    enterprise_name = fields.String()
    points = fields.Integer()
    events = fields.Integer()


class DocumentSchema(Strict):
    id = fields.String()
    instance_id = fields.String()
    kind = fields.String()
    number = fields.String()
    title = fields.String()
    status = fields.String()
    sha256 = fields.String(allow_none=True)
    replaces = fields.String(allow_none=True)
    created_at = fields.DateTime()


class ExpertDrawSchema(Strict):
    id = fields.Integer()
    specialty = fields.String()
    seed = fields.String()
    candidates = fields.List(fields.String())
    excluded = fields.Dict()
    chosen = fields.List(fields.String())
    drawn_at = fields.DateTime()


class AttachmentSchema(Strict):
    id = fields.String()
    file_name = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    task_id = fields.String()
    field = fields.String(allow_none=True)
    uploaded_by = fields.String()
    uploaded_at = fields.DateTime()
