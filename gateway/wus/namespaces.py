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
    """A WUS service: its WSDL namespace, its action prefix, its fault element and code prefix,
    and the operation a fault answers when the request never said which it wanted."""

    AANLEVER = (
        "http://logius.nl/digipoort/wus/2.0/aanleverservice/1.2/",
        "AanleverService",
        "aanleverFault",
        "ALS",
        "aanleveren",
    )
    STATUSINFORMATIE = (
        "http://logius.nl/digipoort/wus/2.0/statusinformatieservice/1.2/",
        "StatusinformatieService",
        "statusinformatieFault",
        "STS",
        "getStatussenProces",
    )
    # Digipoort's fault codes of the OphaalService are not in the reference; OPS follows the
    # pattern of ALS (AanleverService) and STS (StatusinformatieService).
    OPHAAL = (
        "http://logius.nl/digipoort/wus/2.0/ophaalservice/1.2/",
        "OphaalService",
        "ophaalFault",
        "OPS",
        "getBerichten",
    )

    def __init__(self, tns: str, port_name: str, fault_element: str, fault_prefix: str, default_op: str) -> None:
        self.tns = tns
        self.port_name = port_name
        self.fault_element = fault_element
        self.fault_prefix = fault_prefix
        self.default_operation = default_op

    def request_action(self, operation: str) -> str:
        return f"{self.tns}{self.port_name}/{operation}Request"

    def response_action(self, operation: str) -> str:
        return f"{self.tns}{self.port_name}/{operation}Response"

    def fault_action(self, operation: str) -> str:
        # The trailing slash is part of the published fault action.
        return f"{self.tns}{self.port_name}/{operation}/Fault/"

    def operation_for_action(self, action: str | None) -> str | None:
        """The operation of this service whose request action (= SOAPAction) is ``action``."""
        if not action:
            return None
        action = action.strip().strip('"')
        for service, operation in OPERATIONS.values():
            if service is self and self.request_action(operation) == action:
                return operation
        return None


#: Body element local name -> (service, operation name).
OPERATIONS: dict[str, tuple[Service, str]] = {
    "aanleverRequest": (Service.AANLEVER, "aanleveren"),
    "getStatussenProcesRequest": (Service.STATUSINFORMATIE, "getStatussenProces"),
    "getNieuweStatussenProcesRequest": (Service.STATUSINFORMATIE, "getNieuweStatussenProces"),
    "getNieuweStatussenRequest": (Service.STATUSINFORMATIE, "getNieuweStatussen"),
    "getBerichtsoortenRequest": (Service.STATUSINFORMATIE, "getBerichtsoorten"),
    "getProcessenRequest": (Service.STATUSINFORMATIE, "getProcessen"),
    "getBerichtenRequest": (Service.OPHAAL, "getBerichten"),
    "getNieuweBerichtenRequest": (Service.OPHAAL, "getNieuweBerichten"),
    "getBerichtenLijstRequest": (Service.OPHAAL, "getBerichtenLijst"),
    "getNieuweBerichtenLijstRequest": (Service.OPHAAL, "getNieuweBerichtenLijst"),
    "getBerichtenKenmerkRequest": (Service.OPHAAL, "getBerichtenKenmerk"),
    "getNieuweBerichtenKenmerkRequest": (Service.OPHAAL, "getNieuweBerichtenKenmerk"),
}
