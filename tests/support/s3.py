"""moto's S3 server on loopback, reached through the real boto3 client."""

from __future__ import annotations


import boto3
from moto.server import ThreadedMotoServer

from tests.support.net import free_port



class LoopbackS3:
    def __init__(self) -> None:
        self.port = free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self):
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1")

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()
