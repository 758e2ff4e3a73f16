"""Namespaces and action URIs of the Digipoort WUS 1.2 interface (reference section 1)."""

from __future__ import annotations

from enum import Enum

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://www.w3.org/2005/08/addressing"
WSA_ANONYMOUS = "http://www.w3.org/2005/08/addressing/anonymous"
WSA_NONE = "http://www.w3.org/2005/08/addressing/none"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DS = "http://www.w3.org/2000/09/xmldsig#"
KOPPELVLAK = "http://logius.nl/digipoort/koppelvlakservices/1.2/"


class Service(Enum):
    """A WUS service: its WSDL namespace, its action prefix and its fault element."""

    AANLEVER = (
        "http://logius.nl/digipoort/wus/2.0/aanleverservice/1.2/",
        "AanleverService",
        "aanleverFault",
        "ALS",
    )
    STATUSINFORMATIE = (
        "http://logius.nl/digipoort/wus/2.0/statusinformatieservice/1.2/",
        "StatusinformatieService",
        "statusinformatieFault",
        "STS",
    )

    def __init__(self, tns: str, port_name: str, fault_element: str, fault_prefix: str) -> None:
        self.tns = tns
        self.port_name = port_name
        self.fault_element = fault_element
        self.fault_prefix = fault_prefix

    def request_action(self, operation: str) -> str:
        return f"{self.tns}{self.port_name}/{operation}Request"

    def response_action(self, operation: str) -> str:
        return f"{self.tns}{self.port_name}/{operation}Response"

    def fault_action(self, operation: str) -> str:
        # The trailing slash is part of the published fault action.
        return f"{self.tns}{self.port_name}/{operation}/Fault/"


#: Body element local name -> (service, operation name).
OPERATIONS: dict[str, tuple[Service, str]] = {
    "aanleverRequest": (Service.AANLEVER, "aanleveren"),
    "getStatussenProcesRequest": (Service.STATUSINFORMATIE, "getStatussenProces"),
    "getNieuweStatussenProcesRequest": (Service.STATUSINFORMATIE, "getNieuweStatussenProces"),
    "getBerichtsoortenRequest": (Service.STATUSINFORMATIE, "getBerichtsoorten"),
    "getProcessenRequest": (Service.STATUSINFORMATIE, "getProcessen"),
}
