"""The contract shared by the edge agent and the hub: events, topics, reason codes.

Generated modules (``events_pb2``, ``agent_pb2``, ``agent_pb2_grpc``) come
from the ``.proto`` files beside them via ``scripts/gen_protos.py``.
"""

CONTRACT_VERSION = 1
