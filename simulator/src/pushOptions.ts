/**
 * The create/update customer model (`GET …/options/customers`), i.e. Codat's `PushOption`, served per
 * connection. The models are the integration-specific examples of that operation in Codat's Accounting spec
 * (openapi/codat/accounting-customers.yaml), copied verbatim (test/simulator/push.test.ts checks
 * they still equal the spec's examples) — embedded rather than read at run time so `npm start` needs neither
 * the spec files nor the yaml parser (a dev dependency).
 *
 * Which one a connection gets: the example named like the connection's `platformName` (the demo companies use
 * Xero, QuickBooks Online and Sage Business Cloud Accounting); any other platform gets the spec's first example,
 * "Exact (Netherlands)".
 */
import type { CodatPushOption } from "../../src/codat/types.js";
import type { CodatConnection } from "./store.js";

const EXACT_NETHERLANDS: CodatPushOption = {
  "type": "Object",
  "displayName": "Customer",
  "description": "A customer is a person or organisation who buys goods or services",
  "properties": {
    "customerName": {
      "type": "String",
      "displayName": "Customer Name",
      "description": "The name for the customer, typically a company name",
      "required": true
    },
    "emailAddress": {
      "type": "String",
      "displayName": "Email Address",
      "description": "The preferred Email address the customer should be contacted on",
      "required": false
    },
    "phone": {
      "type": "String",
      "displayName": "Phone",
      "description": "The preferred phone number the customer should be contacted on",
      "required": false
    },
    "registrationNumber": {
      "type": "String",
      "displayName": "Registration Number",
      "description": "The customer's registration number",
      "required": false,
      "validation": {
        "warnings": [
          {
            "field": "RegistrationNumber",
            "details": "Only for Exact Netherlands, if provided, must be exactly 20 characters in length"
          }
        ],
        "information": []
      }
    },
    "taxNumber": {
      "type": "String",
      "displayName": "Tax Number",
      "description": "The customer's tax number",
      "required": false
    },
    "defaultCurrency": {
      "type": "String",
      "displayName": "Default Currency",
      "description": "The default currency for transactions recorded against the customer",
      "required": false
    },
    "contacts": {
      "type": "Array",
      "displayName": "Contacts",
      "description": "A collection of alternative contacts for the customer",
      "properties": {
        "name": {
          "type": "String",
          "displayName": "Name",
          "description": "The name of the contact",
          "required": true
        },
        "email": {
          "type": "String",
          "displayName": "Email",
          "description": "The email address for the contact",
          "required": false
        },
        "phone": {
          "type": "Array",
          "displayName": "Phone",
          "description": "A collection of phone numbers for the contact",
          "properties": {
            "number": {
              "type": "String",
              "displayName": "Number",
              "description": "The full number including country, and area code where applicable",
              "required": false
            }
          },
          "required": false
        }
      },
      "required": true
    },
    "addresses": {
      "type": "Array",
      "displayName": "Addresses",
      "description": "A collection of addresses associated to the customer",
      "properties": {
        "country": {
          "type": "String",
          "displayName": "Country",
          "description": "The country for the address",
          "required": false,
          "validation": {
            "warnings": [
              {
                "field": "Addresses.Country",
                "details": "Must be a 2-letter country code"
              }
            ],
            "information": []
          }
        },
        "line1": {
          "type": "String",
          "displayName": "Line 1",
          "description": "The first line of the address",
          "required": false
        },
        "line2": {
          "type": "String",
          "displayName": "Line 2",
          "description": "The second line of the address",
          "required": false
        },
        "region": {
          "type": "String",
          "displayName": "Region",
          "description": "The fourth line of the address, or region",
          "required": false
        },
        "city": {
          "type": "String",
          "displayName": "City",
          "description": "The third line of the address, or city",
          "required": false
        },
        "postalCode": {
          "type": "String",
          "displayName": "Postal/Zip Code",
          "description": "The postal (or zip) code for the address",
          "required": false
        }
      },
      "required": false,
      "validation": {
        "warnings": [],
        "information": [
          {
            "field": "Addresses",
            "details": "Only the first address provided will be considered, all other entries will be not be recorded"
          }
        ]
      }
    }
  },
  "required": true
};

const XERO: CodatPushOption = {
  "type": "Object",
  "displayName": "Customer",
  "description": "A customer is a person or organisation who buys goods or services",
  "properties": {
    "customerName": {
      "type": "String",
      "displayName": "Customer Name",
      "description": "The name for the customer, typically a company name",
      "required": true
    },
    "phone": {
      "type": "String",
      "displayName": "Phone",
      "description": "The preferred phone number the customer should be contacted on",
      "required": false,
      "validation": {
        "warnings": [
          {
            "field": "Phone",
            "details": "Country, area, and number are space separated"
          }
        ],
        "information": []
      }
    },
    "emailAddress": {
      "type": "String",
      "displayName": "Email Address",
      "description": "The preferred Email address the customer should be contacted on",
      "required": false
    },
    "registrationNumber": {
      "type": "String",
      "displayName": "Registration Number",
      "description": "The customer's registration number",
      "required": false,
      "validation": {
        "warnings": [
          {
            "field": "RegistrationNumber",
            "details": "Max length of 50 characters."
          }
        ],
        "information": []
      }
    },
    "taxNumber": {
      "type": "String",
      "displayName": "Tax Number",
      "description": "The customer's tax number",
      "required": false
    },
    "status": {
      "type": "String",
      "displayName": "Customer Status",
      "description": "The current state of the customer",
      "options": [
        {
          "value": "Active",
          "type": "String",
          "displayName": "Active",
          "required": false
        },
        {
          "value": "InActive",
          "type": "String",
          "displayName": "Inactive",
          "required": false
        }
      ],
      "required": false
    },
    "addresses": {
      "type": "Array",
      "displayName": "Addresses",
      "description": "A collection of addresses associated to the customer",
      "properties": {
        "line1": {
          "type": "String",
          "displayName": "Line 1",
          "description": "The first line of the address",
          "required": false,
          "validation": {
            "warnings": [
              {
                "field": "Addresses.Line1",
                "details": "Max length of 500 characters."
              }
            ],
            "information": []
          }
        },
        "line2": {
          "type": "String",
          "displayName": "Line 2",
          "description": "The second line of the address",
          "required": false,
          "validation": {
            "warnings": [
              {
                "field": "Addresses.Line2",
                "details": "Max length of 500 characters."
              }
            ],
            "information": []
          }
        },
        "city": {
          "type": "String",
          "displayName": "City",
          "description": "The third line of the address, or city",
          "required": false,
          "validation": {
            "warnings": [
              {
                "field": "Addresses.City",
                "details": "Max length of 255 characters."
              }
            ],
            "information": []
          }
        },
        "region": {
          "type": "String",
          "displayName": "Region",
          "description": "The fourth line of the address, or region",
          "required": false,
          "validation": {
            "warnings": [
              {
                "field": "Addresses.Region",
                "details": "Max length of 255 characters."
              }
            ],
            "information": []
          }
        },
        "country": {
          "type": "String",
          "displayName": "Country",
          "description": "The country for the address",
          "required": false,
          "validation": {
            "warnings": [
              {
                "field": "Addresses.Country",
                "details": "Max length of 50 characters."
              }
            ],
            "information": []
          }
        },
        "postalCode": {
          "type": "String",
          "displayName": "Postal/Zip Code",
          "description": "The postal (or zip) code for the address",
          "required": false,
          "validation": {
            "warnings": [
              {
                "field": "Addresses.PostalCode",
                "details": "Only English alphabet characters are permitted."
              },
              {
                "field": "Addresses.PostalCode",
                "details": "Max length of 50 characters."
              }
            ],
            "information": []
          }
        },
        "type": {
          "type": "String",
          "displayName": "Address Type",
          "description": "The type of the address",
          "options": [
            {
              "value": "Billing",
              "type": "String",
              "displayName": "Billing Address",
              "required": false
            },
            {
              "value": "Delivery",
              "type": "String",
              "displayName": "Delivery Address",
              "required": false
            }
          ],
          "required": true,
          "validation": {
            "warnings": [
              {
                "field": "Addresses.Type",
                "details": "Billing = POBOX, Delivery/Unknown = STREET"
              }
            ],
            "information": []
          }
        }
      },
      "required": false
    }
  },
  "required": true
};

const QUICKBOOKS_ONLINE: CodatPushOption = {
  "type": "Object",
  "displayName": "Customer",
  "description": "A customer is a person or organisation who buys goods or services",
  "properties": {
    "customerName": {
      "type": "String",
      "displayName": "Customer Name",
      "description": "The name for the customer, typically a company name",
      "required": true,
      "validation": {
        "warnings": [
          {
            "field": "CustomerName",
            "details": "Names must be unique across customers, suppliers and employees"
          }
        ],
        "information": []
      }
    },
    "phone": {
      "type": "String",
      "displayName": "Phone",
      "description": "The preferred phone number the customer should be contacted on",
      "required": false,
      "validation": {
        "warnings": [
          {
            "field": "Phone",
            "details": "Country, area, and number are space separated"
          }
        ],
        "information": []
      }
    },
    "emailAddress": {
      "type": "String",
      "displayName": "Email Address",
      "description": "The preferred Email address the customer should be contacted on",
      "required": false
    },
    "registrationNumber": {
      "type": "String",
      "displayName": "Registration Number",
      "description": "The customer's registration number",
      "required": false
    },
    "taxNumber": {
      "type": "String",
      "displayName": "Tax Number",
      "description": "The customer's tax number",
      "required": false
    },
    "status": {
      "type": "String",
      "displayName": "Customer Status",
      "description": "The current state of the customer",
      "options": [
        {
          "value": "Active",
          "type": "String",
          "displayName": "Active",
          "required": false
        },
        {
          "value": "Archived",
          "type": "String",
          "displayName": "Archived",
          "required": false
        }
      ],
      "required": true
    },
    "addresses": {
      "type": "Array",
      "displayName": "Addresses",
      "description": "A collection of addresses associated to the customer",
      "properties": {
        "line1": {
          "type": "String",
          "displayName": "Line 1",
          "description": "The first line of the address",
          "required": false,
          "validation": {
            "warnings": [
              {
                "field": "Addresses.Line1",
                "details": "Max length of 500 characters."
              }
            ],
            "information": []
          }
        },
        "line2": {
          "type": "String",
          "displayName": "Line 2",
          "description": "The second line of the address",
          "required": false,
          "validation": {
            "warnings": [
              {
                "field": "Addresses.Line2",
                "details": "Max length of 500 characters."
              }
            ],
            "information": []
          }
        },
        "city": {
          "type": "String",
          "displayName": "City",
          "description": "The third line of the address, or city",
          "required": false,
          "validation": {
            "warnings": [
              {
                "field": "Addresses.City",
                "details": "Max length of 255 characters."
              }
            ],
            "information": []
          }
        },
        "region": {
          "type": "String",
          "displayName": "Region",
          "description": "The fourth line of the address, or region",
          "required": false,
          "validation": {
            "warnings": [
              {
                "field": "Addresses.Region",
                "details": "Max length of 225 characters."
              }
            ],
            "information": []
          }
        },
        "country": {
          "type": "String",
          "displayName": "Country",
          "description": "The country for the address",
          "required": false,
          "validation": {
            "warnings": [
              {
                "field": "Addresses.Country",
                "details": "Max length of 50 characters."
              }
            ],
            "information": []
          }
        },
        "postalCode": {
          "type": "String",
          "displayName": "Postal/Zip Code",
          "description": "The postal (or zip) code for the address",
          "required": false,
          "validation": {
            "warnings": [
              {
                "field": "Addresses.PostalCode",
                "details": "Only English alphabet characters are permitted."
              },
              {
                "field": "Addresses.PostalCode",
                "details": "Max length of 50 characters."
              }
            ],
            "information": []
          }
        },
        "type": {
          "type": "String",
          "displayName": "Address Type",
          "description": "The type of the address",
          "options": [
            {
              "value": "Billing",
              "type": "String",
              "displayName": "Billing Address",
              "required": false
            },
            {
              "value": "Delivery",
              "type": "String",
              "displayName": "Delivery Address",
              "required": false
            }
          ],
          "required": false,
          "validation": {
            "warnings": [
              {
                "field": "Addresses.Type",
                "details": "Billing = POBOX, Delivery/Unknown = DELIVERY"
              }
            ],
            "information": []
          }
        }
      },
      "required": false
    },
    "contacts": {
      "type": "Array",
      "displayName": "Contacts",
      "description": "A collection of alternative contacts for the customer",
      "properties": {
        "phone": {
          "type": "Array",
          "displayName": "Phone",
          "description": "A collection of phone numbers for the contact",
          "properties": {
            "type": {
              "type": "String",
              "displayName": "Phone Type",
              "description": "The type of phone number",
              "required": true
            },
            "number": {
              "type": "String",
              "displayName": "Number",
              "description": "The full number including country, and area code where applicable",
              "required": true
            }
          },
          "required": false
        }
      },
      "required": false
    },
    "defaultCurrency": {
      "type": "String",
      "displayName": "Default Currency",
      "description": "The default currency for transactions recorded against the customer",
      "required": false,
      "validation": {
        "warnings": [
          {
            "field": "DefaultCurrency",
            "details": "Default currency can only differ from the base company currency if multi-currency is enabled for the company."
          }
        ],
        "information": []
      }
    }
  },
  "required": true
};

const SAGE_BUSINESS_CLOUD_ACCOUNTING: CodatPushOption = {
  "type": "Object",
  "displayName": "Customer",
  "description": "A customer is a person or organisation who buys goods or services",
  "properties": {
    "customerName": {
      "type": "String",
      "displayName": "Customer Name",
      "description": "The name for the customer, typically a company name",
      "required": true
    },
    "defaultCurrency": {
      "type": "String",
      "displayName": "Default Currency",
      "description": "The default currency for transactions recorded against the customer",
      "required": false,
      "validation": {
        "warnings": [],
        "information": [
          {
            "field": "DefaultCurrency",
            "details": "If Customer.DefaultCurrency is not provided; will be mapped from company base currency"
          }
        ]
      }
    },
    "contactName": {
      "type": "String",
      "displayName": "Contact Name",
      "description": "The name of the main contact for the customer",
      "required": false
    },
    "emailAddress": {
      "type": "String",
      "displayName": "Email Address",
      "description": "The preferred Email address the customer should be contacted on",
      "required": false
    },
    "phone": {
      "type": "String",
      "displayName": "Phone",
      "description": "The preferred phone number the customer should be contacted on",
      "required": false
    },
    "taxNumber": {
      "type": "String",
      "displayName": "Tax Number",
      "description": "The customer's tax number",
      "required": false
    },
    "addresses": {
      "type": "Array",
      "displayName": "Addresses",
      "description": "A collection of addresses associated to the customer",
      "properties": {
        "line1": {
          "type": "String",
          "displayName": "Line 1",
          "description": "The first line of the address",
          "required": true,
          "validation": {
            "warnings": [
              {
                "field": "Addresses.Line1",
                "details": "If you're adding an address for this customer, you must also include the first line"
              }
            ],
            "information": []
          }
        },
        "line2": {
          "type": "String",
          "displayName": "Line 2",
          "description": "The second line of the address",
          "required": false
        },
        "city": {
          "type": "String",
          "displayName": "City",
          "description": "The third line of the address, or city",
          "required": false
        },
        "region": {
          "type": "String",
          "displayName": "Region",
          "description": "The fourth line of the address, or region",
          "required": false
        },
        "postalCode": {
          "type": "String",
          "displayName": "Postal/Zip Code",
          "description": "The postal (or zip) code for the address",
          "required": false
        },
        "country": {
          "type": "String",
          "displayName": "Country",
          "description": "The country for the address",
          "options": [
            {
              "value": "Afghanistan (AF)",
              "type": "String",
              "displayName": "Afghanistan (AF)",
              "required": false
            },
            {
              "value": "Albania (AL)",
              "type": "String",
              "displayName": "Albania (AL)",
              "required": false
            },
            {
              "value": "Algeria (DZ)",
              "type": "String",
              "displayName": "Algeria (DZ)",
              "required": false
            },
            {
              "value": "Andorra (AD)",
              "type": "String",
              "displayName": "Andorra (AD)",
              "required": false
            },
            {
              "value": "Angola (AO)",
              "type": "String",
              "displayName": "Angola (AO)",
              "required": false
            },
            {
              "value": "Argentina (AR)",
              "type": "String",
              "displayName": "Argentina (AR)",
              "required": false
            },
            {
              "value": "Armenia (AM)",
              "type": "String",
              "displayName": "Armenia (AM)",
              "required": false
            },
            {
              "value": "Aruba (AW)",
              "type": "String",
              "displayName": "Aruba (AW)",
              "required": false
            },
            {
              "value": "Australia (AU)",
              "type": "String",
              "displayName": "Australia (AU)",
              "required": false
            },
            {
              "value": "Austria (AT)",
              "type": "String",
              "displayName": "Austria (AT)",
              "required": false
            },
            {
              "value": "Azerbaijan (AZ)",
              "type": "String",
              "displayName": "Azerbaijan (AZ)",
              "required": false
            },
            {
              "value": "Bahamas (BS)",
              "type": "String",
              "displayName": "Bahamas (BS)",
              "required": false
            },
            {
              "value": "Bahrain (BH)",
              "type": "String",
              "displayName": "Bahrain (BH)",
              "required": false
            },
            {
              "value": "Bangladesh (BD)",
              "type": "String",
              "displayName": "Bangladesh (BD)",
              "required": false
            },
            {
              "value": "Barbados (BB)",
              "type": "String",
              "displayName": "Barbados (BB)",
              "required": false
            },
            {
              "value": "Belarus (BY)",
              "type": "String",
              "displayName": "Belarus (BY)",
              "required": false
            },
            {
              "value": "Belgium (BE)",
              "type": "String",
              "displayName": "Belgium (BE)",
              "required": false
            },
            {
              "value": "Belize (BZ)",
              "type": "String",
              "displayName": "Belize (BZ)",
              "required": false
            },
            {
              "value": "Benin (BJ)",
              "type": "String",
              "displayName": "Benin (BJ)",
              "required": false
            },
            {
              "value": "Bermuda (BM)",
              "type": "String",
              "displayName": "Bermuda (BM)",
              "required": false
            },
            {
              "value": "Bhutan (BT)",
              "type": "String",
              "displayName": "Bhutan (BT)",
              "required": false
            },
            {
              "value": "Bolivia (BO)",
              "type": "String",
              "displayName": "Bolivia (BO)",
              "required": false
            },
            {
              "value": "Bosnia and Herzegovina (BA)",
              "type": "String",
              "displayName": "Bosnia and Herzegovina (BA)",
              "required": false
            },
            {
              "value": "Botswana (BW)",
              "type": "String",
              "displayName": "Botswana (BW)",
              "required": false
            },
            {
              "value": "Brazil (BR)",
              "type": "String",
              "displayName": "Brazil (BR)",
              "required": false
            },
            {
              "value": "British Virgin Islands (VG)",
              "type": "String",
              "displayName": "British Virgin Islands (VG)",
              "required": false
            },
            {
              "value": "Brunei Darussalam (BN)",
              "type": "String",
              "displayName": "Brunei Darussalam (BN)",
              "required": false
            },
            {
              "value": "Bulgaria (BG)",
              "type": "String",
              "displayName": "Bulgaria (BG)",
              "required": false
            },
            {
              "value": "Burkina Faso (BF)",
              "type": "String",
              "displayName": "Burkina Faso (BF)",
              "required": false
            },
            {
              "value": "Burundi (BI)",
              "type": "String",
              "displayName": "Burundi (BI)",
              "required": false
            },
            {
              "value": "Cambodia (KH)",
              "type": "String",
              "displayName": "Cambodia (KH)",
              "required": false
            },
            {
              "value": "Cameroon (CM)",
              "type": "String",
              "displayName": "Cameroon (CM)",
              "required": false
            },
            {
              "value": "Canada (CA)",
              "type": "String",
              "displayName": "Canada (CA)",
              "required": false
            },
            {
              "value": "Cape Verde (CV)",
              "type": "String",
              "displayName": "Cape Verde (CV)",
              "required": false
            },
            {
              "value": "Cayman Islands (KY)",
              "type": "String",
              "displayName": "Cayman Islands (KY)",
              "required": false
            },
            {
              "value": "Central African Republic (CF)",
              "type": "String",
              "displayName": "Central African Republic (CF)",
              "required": false
            },
            {
              "value": "Chad (TD)",
              "type": "String",
              "displayName": "Chad (TD)",
              "required": false
            },
            {
              "value": "Chile (CL)",
              "type": "String",
              "displayName": "Chile (CL)",
              "required": false
            },
            {
              "value": "China (CN)",
              "type": "String",
              "displayName": "China (CN)",
              "required": false
            },
            {
              "value": "Colombia (CO)",
              "type": "String",
              "displayName": "Colombia (CO)",
              "required": false
            },
            {
              "value": "Comoros (KM)",
              "type": "String",
              "displayName": "Comoros (KM)",
              "required": false
            },
            {
              "value": "Congo (CG)",
              "type": "String",
              "displayName": "Congo (CG)",
              "required": false
            },
            {
              "value": "Costa Rica (CR)",
              "type": "String",
              "displayName": "Costa Rica (CR)",
              "required": false
            },
            {
              "value": "Croatia (HR)",
              "type": "String",
              "displayName": "Croatia (HR)",
              "required": false
            },
            {
              "value": "Cuba (CU)",
              "type": "String",
              "displayName": "Cuba (CU)",
              "required": false
            },
            {
              "value": "Cura�ao (CW)",
              "type": "String",
              "displayName": "Cura�ao (CW)",
              "required": false
            },
            {
              "value": "Cyprus (CY)",
              "type": "String",
              "displayName": "Cyprus (CY)",
              "required": false
            },
            {
              "value": "Czech Republic (CZ)",
              "type": "String",
              "displayName": "Czech Republic (CZ)",
              "required": false
            },
            {
              "value": "Democratic Republic of the Congo (CD)",
              "type": "String",
              "displayName": "Democratic Republic of the Congo (CD)",
              "required": false
            },
            {
              "value": "Denmark (DK)",
              "type": "String",
              "displayName": "Denmark (DK)",
              "required": false
            },
            {
              "value": "Djibouti (DJ)",
              "type": "String",
              "displayName": "Djibouti (DJ)",
              "required": false
            },
            {
              "value": "Dominica (DM)",
              "type": "String",
              "displayName": "Dominica (DM)",
              "required": false
            },
            {
              "value": "Dominican Republic (DO)",
              "type": "String",
              "displayName": "Dominican Republic (DO)",
              "required": false
            },
            {
              "value": "East Timor (TP)",
              "type": "String",
              "displayName": "East Timor (TP)",
              "required": false
            },
            {
              "value": "Ecuador (EC)",
              "type": "String",
              "displayName": "Ecuador (EC)",
              "required": false
            },
            {
              "value": "Egypt (EG)",
              "type": "String",
              "displayName": "Egypt (EG)",
              "required": false
            },
            {
              "value": "El Salvador (SV)",
              "type": "String",
              "displayName": "El Salvador (SV)",
              "required": false
            },
            {
              "value": "Equatorial Guinea (GQ)",
              "type": "String",
              "displayName": "Equatorial Guinea (GQ)",
              "required": false
            },
            {
              "value": "Eritrea (ER)",
              "type": "String",
              "displayName": "Eritrea (ER)",
              "required": false
            },
            {
              "value": "Estonia (EE)",
              "type": "String",
              "displayName": "Estonia (EE)",
              "required": false
            },
            {
              "value": "Ethiopia (ET)",
              "type": "String",
              "displayName": "Ethiopia (ET)",
              "required": false
            },
            {
              "value": "Falkland Islands (Malvinas) (FK)",
              "type": "String",
              "displayName": "Falkland Islands (Malvinas) (FK)",
              "required": false
            },
            {
              "value": "Federated States of Micronesia (FM)",
              "type": "String",
              "displayName": "Federated States of Micronesia (FM)",
              "required": false
            },
            {
              "value": "Fiji (FJ)",
              "type": "String",
              "displayName": "Fiji (FJ)",
              "required": false
            },
            {
              "value": "Finland (FI)",
              "type": "String",
              "displayName": "Finland (FI)",
              "required": false
            },
            {
              "value": "France (FR)",
              "type": "String",
              "displayName": "France (FR)",
              "required": false
            },
            {
              "value": "French Polynesia (PF)",
              "type": "String",
              "displayName": "French Polynesia (PF)",
              "required": false
            },
            {
              "value": "Gabon (GA)",
              "type": "String",
              "displayName": "Gabon (GA)",
              "required": false
            },
            {
              "value": "Gambia (GM)",
              "type": "String",
              "displayName": "Gambia (GM)",
              "required": false
            },
            {
              "value": "Georgia (GE)",
              "type": "String",
              "displayName": "Georgia (GE)",
              "required": false
            },
            {
              "value": "Germany (DE)",
              "type": "String",
              "displayName": "Germany (DE)",
              "required": false
            },
            {
              "value": "Ghana (GH)",
              "type": "String",
              "displayName": "Ghana (GH)",
              "required": false
            },
            {
              "value": "Gibraltar (GI)",
              "type": "String",
              "displayName": "Gibraltar (GI)",
              "required": false
            },
            {
              "value": "Greece (GR)",
              "type": "String",
              "displayName": "Greece (GR)",
              "required": false
            },
            {
              "value": "Greenland (GL)",
              "type": "String",
              "displayName": "Greenland (GL)",
              "required": false
            },
            {
              "value": "Grenada (GD)",
              "type": "String",
              "displayName": "Grenada (GD)",
              "required": false
            },
            {
              "value": "Guadaloupe (GP)",
              "type": "String",
              "displayName": "Guadaloupe (GP)",
              "required": false
            },
            {
              "value": "Guam (GU)",
              "type": "String",
              "displayName": "Guam (GU)",
              "required": false
            },
            {
              "value": "Guatemala (GT)",
              "type": "String",
              "displayName": "Guatemala (GT)",
              "required": false
            },
            {
              "value": "Guernsey (GG)",
              "type": "String",
              "displayName": "Guernsey (GG)",
              "required": false
            },
            {
              "value": "Guinea (GN)",
              "type": "String",
              "displayName": "Guinea (GN)",
              "required": false
            },
            {
              "value": "Guinea-Bissau (GW)",
              "type": "String",
              "displayName": "Guinea-Bissau (GW)",
              "required": false
            },
            {
              "value": "Guyana (GY)",
              "type": "String",
              "displayName": "Guyana (GY)",
              "required": false
            },
            {
              "value": "Haiti (HT)",
              "type": "String",
              "displayName": "Haiti (HT)",
              "required": false
            },
            {
              "value": "Honduras (HN)",
              "type": "String",
              "displayName": "Honduras (HN)",
              "required": false
            },
            {
              "value": "Hong Kong (HK)",
              "type": "String",
              "displayName": "Hong Kong (HK)",
              "required": false
            },
            {
              "value": "Hungary (HU)",
              "type": "String",
              "displayName": "Hungary (HU)",
              "required": false
            },
            {
              "value": "Iceland (IS)",
              "type": "String",
              "displayName": "Iceland (IS)",
              "required": false
            },
            {
              "value": "India (IN)",
              "type": "String",
              "displayName": "India (IN)",
              "required": false
            },
            {
              "value": "Indonesia (ID)",
              "type": "String",
              "displayName": "Indonesia (ID)",
              "required": false
            },
            {
              "value": "Iran (IR)",
              "type": "String",
              "displayName": "Iran (IR)",
              "required": false
            },
            {
              "value": "Iraq (IQ)",
              "type": "String",
              "displayName": "Iraq (IQ)",
              "required": false
            },
            {
              "value": "Ireland (IE)",
              "type": "String",
              "displayName": "Ireland (IE)",
              "required": false
            },
            {
              "value": "Israel (IL)",
              "type": "String",
              "displayName": "Israel (IL)",
              "required": false
            },
            {
              "value": "Italy (IT)",
              "type": "String",
              "displayName": "Italy (IT)",
              "required": false
            },
            {
              "value": "Ivory Coast (CI)",
              "type": "String",
              "displayName": "Ivory Coast (CI)",
              "required": false
            },
            {
              "value": "Jamaica (JM)",
              "type": "String",
              "displayName": "Jamaica (JM)",
              "required": false
            },
            {
              "value": "Japan (JP)",
              "type": "String",
              "displayName": "Japan (JP)",
              "required": false
            },
            {
              "value": "Jersey (JE)",
              "type": "String",
              "displayName": "Jersey (JE)",
              "required": false
            },
            {
              "value": "Jordan (JO)",
              "type": "String",
              "displayName": "Jordan (JO)",
              "required": false
            },
            {
              "value": "Kazakhstan (KZ)",
              "type": "String",
              "displayName": "Kazakhstan (KZ)",
              "required": false
            },
            {
              "value": "Kenya (KE)",
              "type": "String",
              "displayName": "Kenya (KE)",
              "required": false
            },
            {
              "value": "Kuwait (KW)",
              "type": "String",
              "displayName": "Kuwait (KW)",
              "required": false
            },
            {
              "value": "Kyrgyzstan (KG)",
              "type": "String",
              "displayName": "Kyrgyzstan (KG)",
              "required": false
            },
            {
              "value": "Laos (LA)",
              "type": "String",
              "displayName": "Laos (LA)",
              "required": false
            },
            {
              "value": "Latvia (LV)",
              "type": "String",
              "displayName": "Latvia (LV)",
              "required": false
            },
            {
              "value": "Lebanon (LB)",
              "type": "String",
              "displayName": "Lebanon (LB)",
              "required": false
            },
            {
              "value": "Lesotho (LS)",
              "type": "String",
              "displayName": "Lesotho (LS)",
              "required": false
            },
            {
              "value": "Liberia (LR)",
              "type": "String",
              "displayName": "Liberia (LR)",
              "required": false
            },
            {
              "value": "Libya (LY)",
              "type": "String",
              "displayName": "Libya (LY)",
              "required": false
            },
            {
              "value": "Liechtenstein (LI)",
              "type": "String",
              "displayName": "Liechtenstein (LI)",
              "required": false
            },
            {
              "value": "Lithuania (LT)",
              "type": "String",
              "displayName": "Lithuania (LT)",
              "required": false
            },
            {
              "value": "Luxembourg (LU)",
              "type": "String",
              "displayName": "Luxembourg (LU)",
              "required": false
            },
            {
              "value": "Macau (MO)",
              "type": "String",
              "displayName": "Macau (MO)",
              "required": false
            },
            {
              "value": "Macedonia (MK)",
              "type": "String",
              "displayName": "Macedonia (MK)",
              "required": false
            },
            {
              "value": "Madagascar (MG)",
              "type": "String",
              "displayName": "Madagascar (MG)",
              "required": false
            },
            {
              "value": "Malawi (MW)",
              "type": "String",
              "displayName": "Malawi (MW)",
              "required": false
            },
            {
              "value": "Malaysia (MY)",
              "type": "String",
              "displayName": "Malaysia (MY)",
              "required": false
            },
            {
              "value": "Maldives (MV)",
              "type": "String",
              "displayName": "Maldives (MV)",
              "required": false
            },
            {
              "value": "Mali (ML)",
              "type": "String",
              "displayName": "Mali (ML)",
              "required": false
            },
            {
              "value": "Malta (MT)",
              "type": "String",
              "displayName": "Malta (MT)",
              "required": false
            },
            {
              "value": "Mauritania (MR)",
              "type": "String",
              "displayName": "Mauritania (MR)",
              "required": false
            },
            {
              "value": "Mauritius (MU)",
              "type": "String",
              "displayName": "Mauritius (MU)",
              "required": false
            },
            {
              "value": "Mexico (MX)",
              "type": "String",
              "displayName": "Mexico (MX)",
              "required": false
            },
            {
              "value": "Moldova (MD)",
              "type": "String",
              "displayName": "Moldova (MD)",
              "required": false
            },
            {
              "value": "Monaco (MC)",
              "type": "String",
              "displayName": "Monaco (MC)",
              "required": false
            },
            {
              "value": "Mongolia (MN)",
              "type": "String",
              "displayName": "Mongolia (MN)",
              "required": false
            },
            {
              "value": "Montenegro (ME)",
              "type": "String",
              "displayName": "Montenegro (ME)",
              "required": false
            },
            {
              "value": "Morocco (MA)",
              "type": "String",
              "displayName": "Morocco (MA)",
              "required": false
            },
            {
              "value": "Mozambique (MZ)",
              "type": "String",
              "displayName": "Mozambique (MZ)",
              "required": false
            },
            {
              "value": "Myanmar (MM)",
              "type": "String",
              "displayName": "Myanmar (MM)",
              "required": false
            },
            {
              "value": "Namibia (NA)",
              "type": "String",
              "displayName": "Namibia (NA)",
              "required": false
            },
            {
              "value": "Nepal (NP)",
              "type": "String",
              "displayName": "Nepal (NP)",
              "required": false
            },
            {
              "value": "Netherlands (NL)",
              "type": "String",
              "displayName": "Netherlands (NL)",
              "required": false
            },
            {
              "value": "Netherlands Antilles (AN)",
              "type": "String",
              "displayName": "Netherlands Antilles (AN)",
              "required": false
            },
            {
              "value": "New Caledonia (NC)",
              "type": "String",
              "displayName": "New Caledonia (NC)",
              "required": false
            },
            {
              "value": "New Zealand (NZ)",
              "type": "String",
              "displayName": "New Zealand (NZ)",
              "required": false
            },
            {
              "value": "Nicaragua (NI)",
              "type": "String",
              "displayName": "Nicaragua (NI)",
              "required": false
            },
            {
              "value": "Niger (NE)",
              "type": "String",
              "displayName": "Niger (NE)",
              "required": false
            },
            {
              "value": "Nigeria (NG)",
              "type": "String",
              "displayName": "Nigeria (NG)",
              "required": false
            },
            {
              "value": "North Korea (KP)",
              "type": "String",
              "displayName": "North Korea (KP)",
              "required": false
            },
            {
              "value": "Norway (NO)",
              "type": "String",
              "displayName": "Norway (NO)",
              "required": false
            },
            {
              "value": "Oman (OM)",
              "type": "String",
              "displayName": "Oman (OM)",
              "required": false
            },
            {
              "value": "Pakistan (PK)",
              "type": "String",
              "displayName": "Pakistan (PK)",
              "required": false
            },
            {
              "value": "Panama (PA)",
              "type": "String",
              "displayName": "Panama (PA)",
              "required": false
            },
            {
              "value": "Papua New Guinea (PG)",
              "type": "String",
              "displayName": "Papua New Guinea (PG)",
              "required": false
            },
            {
              "value": "Paraguay (PY)",
              "type": "String",
              "displayName": "Paraguay (PY)",
              "required": false
            },
            {
              "value": "Peru (PE)",
              "type": "String",
              "displayName": "Peru (PE)",
              "required": false
            },
            {
              "value": "Philippines (PH)",
              "type": "String",
              "displayName": "Philippines (PH)",
              "required": false
            },
            {
              "value": "Poland (PL)",
              "type": "String",
              "displayName": "Poland (PL)",
              "required": false
            },
            {
              "value": "Portugal (PT)",
              "type": "String",
              "displayName": "Portugal (PT)",
              "required": false
            },
            {
              "value": "Puerto Rico (PR)",
              "type": "String",
              "displayName": "Puerto Rico (PR)",
              "required": false
            },
            {
              "value": "Qatar (QA)",
              "type": "String",
              "displayName": "Qatar (QA)",
              "required": false
            },
            {
              "value": "Romania (RO)",
              "type": "String",
              "displayName": "Romania (RO)",
              "required": false
            },
            {
              "value": "Russia (RU)",
              "type": "String",
              "displayName": "Russia (RU)",
              "required": false
            },
            {
              "value": "Rwanda (RW)",
              "type": "String",
              "displayName": "Rwanda (RW)",
              "required": false
            },
            {
              "value": "Saint Kitts and Nevis (KN)",
              "type": "String",
              "displayName": "Saint Kitts and Nevis (KN)",
              "required": false
            },
            {
              "value": "Saint Pierre and Miquelon (PM)",
              "type": "String",
              "displayName": "Saint Pierre and Miquelon (PM)",
              "required": false
            },
            {
              "value": "Samoa (WS)",
              "type": "String",
              "displayName": "Samoa (WS)",
              "required": false
            },
            {
              "value": "San Marino (SM)",
              "type": "String",
              "displayName": "San Marino (SM)",
              "required": false
            },
            {
              "value": "Sao Tome and Principe (ST)",
              "type": "String",
              "displayName": "Sao Tome and Principe (ST)",
              "required": false
            },
            {
              "value": "Saudi Arabia (SA)",
              "type": "String",
              "displayName": "Saudi Arabia (SA)",
              "required": false
            },
            {
              "value": "Senegal (SN)",
              "type": "String",
              "displayName": "Senegal (SN)",
              "required": false
            },
            {
              "value": "Serbia (RS)",
              "type": "String",
              "displayName": "Serbia (RS)",
              "required": false
            },
            {
              "value": "Seychelles (SC)",
              "type": "String",
              "displayName": "Seychelles (SC)",
              "required": false
            },
            {
              "value": "Sierra Leone (SL)",
              "type": "String",
              "displayName": "Sierra Leone (SL)",
              "required": false
            },
            {
              "value": "Singapore (SG)",
              "type": "String",
              "displayName": "Singapore (SG)",
              "required": false
            },
            {
              "value": "Slovakia (SK)",
              "type": "String",
              "displayName": "Slovakia (SK)",
              "required": false
            },
            {
              "value": "Slovenia (SI)",
              "type": "String",
              "displayName": "Slovenia (SI)",
              "required": false
            },
            {
              "value": "Solomon Islands (SB)",
              "type": "String",
              "displayName": "Solomon Islands (SB)",
              "required": false
            },
            {
              "value": "Somalia (SO)",
              "type": "String",
              "displayName": "Somalia (SO)",
              "required": false
            },
            {
              "value": "South Africa (ZA)",
              "type": "String",
              "displayName": "South Africa (ZA)",
              "required": false
            },
            {
              "value": "South Korea (KR)",
              "type": "String",
              "displayName": "South Korea (KR)",
              "required": false
            },
            {
              "value": "Spain (ES)",
              "type": "String",
              "displayName": "Spain (ES)",
              "required": false
            },
            {
              "value": "Sri Lanka (LK)",
              "type": "String",
              "displayName": "Sri Lanka (LK)",
              "required": false
            },
            {
              "value": "St. Lucia (LC)",
              "type": "String",
              "displayName": "St. Lucia (LC)",
              "required": false
            },
            {
              "value": "Sudan (SD)",
              "type": "String",
              "displayName": "Sudan (SD)",
              "required": false
            },
            {
              "value": "Surinam (SR)",
              "type": "String",
              "displayName": "Surinam (SR)",
              "required": false
            },
            {
              "value": "Swaziland (SZ)",
              "type": "String",
              "displayName": "Swaziland (SZ)",
              "required": false
            },
            {
              "value": "Sweden (SE)",
              "type": "String",
              "displayName": "Sweden (SE)",
              "required": false
            },
            {
              "value": "Switzerland (CH)",
              "type": "String",
              "displayName": "Switzerland (CH)",
              "required": false
            },
            {
              "value": "Syria (SY)",
              "type": "String",
              "displayName": "Syria (SY)",
              "required": false
            },
            {
              "value": "Taiwan (TW)",
              "type": "String",
              "displayName": "Taiwan (TW)",
              "required": false
            },
            {
              "value": "Tajikistan (TJ)",
              "type": "String",
              "displayName": "Tajikistan (TJ)",
              "required": false
            },
            {
              "value": "Tanzania (TZ)",
              "type": "String",
              "displayName": "Tanzania (TZ)",
              "required": false
            },
            {
              "value": "Thailand (TH)",
              "type": "String",
              "displayName": "Thailand (TH)",
              "required": false
            },
            {
              "value": "Togo (TG)",
              "type": "String",
              "displayName": "Togo (TG)",
              "required": false
            },
            {
              "value": "Tonga (TO)",
              "type": "String",
              "displayName": "Tonga (TO)",
              "required": false
            },
            {
              "value": "Trinidad and Tobago (TT)",
              "type": "String",
              "displayName": "Trinidad and Tobago (TT)",
              "required": false
            },
            {
              "value": "Tunisia (TN)",
              "type": "String",
              "displayName": "Tunisia (TN)",
              "required": false
            },
            {
              "value": "Turkey (TR)",
              "type": "String",
              "displayName": "Turkey (TR)",
              "required": false
            },
            {
              "value": "Turkmenistan (TM)",
              "type": "String",
              "displayName": "Turkmenistan (TM)",
              "required": false
            },
            {
              "value": "Tuvalu (TV)",
              "type": "String",
              "displayName": "Tuvalu (TV)",
              "required": false
            },
            {
              "value": "Uganda (UG)",
              "type": "String",
              "displayName": "Uganda (UG)",
              "required": false
            },
            {
              "value": "Ukraine (UA)",
              "type": "String",
              "displayName": "Ukraine (UA)",
              "required": false
            },
            {
              "value": "United Arab Emirates (AE)",
              "type": "String",
              "displayName": "United Arab Emirates (AE)",
              "required": false
            },
            {
              "value": "United Kingdom (GB)",
              "type": "String",
              "displayName": "United Kingdom (GB)",
              "required": false
            },
            {
              "value": "United States (US)",
              "type": "String",
              "displayName": "United States (US)",
              "required": false
            },
            {
              "value": "Uruguay (UY)",
              "type": "String",
              "displayName": "Uruguay (UY)",
              "required": false
            },
            {
              "value": "Uzbekistan (UZ)",
              "type": "String",
              "displayName": "Uzbekistan (UZ)",
              "required": false
            },
            {
              "value": "Vanuatu (VU)",
              "type": "String",
              "displayName": "Vanuatu (VU)",
              "required": false
            },
            {
              "value": "Venezuela (VE)",
              "type": "String",
              "displayName": "Venezuela (VE)",
              "required": false
            },
            {
              "value": "Vietnam (VN)",
              "type": "String",
              "displayName": "Vietnam (VN)",
              "required": false
            },
            {
              "value": "Virgin Islands U.S. (VI)",
              "type": "String",
              "displayName": "Virgin Islands U.S. (VI)",
              "required": false
            },
            {
              "value": "Western Sahara (EH)",
              "type": "String",
              "displayName": "Western Sahara (EH)",
              "required": false
            },
            {
              "value": "Yemen (YE)",
              "type": "String",
              "displayName": "Yemen (YE)",
              "required": false
            },
            {
              "value": "Zaire (ZR)",
              "type": "String",
              "displayName": "Zaire (ZR)",
              "required": false
            },
            {
              "value": "Zambia (ZM)",
              "type": "String",
              "displayName": "Zambia (ZM)",
              "required": false
            },
            {
              "value": "Zimbabwe (ZW)",
              "type": "String",
              "displayName": "Zimbabwe (ZW)",
              "required": false
            }
          ],
          "required": false
        }
      },
      "required": false,
      "validation": {
        "warnings": [],
        "information": [
          {
            "field": "Addresses",
            "details": "Can contain a maximum of two addresses; main address and delivery address"
          }
        ]
      }
    }
  },
  "required": true
};

/** The embedded models by spec example name (= Codat platform name). */
export const CUSTOMER_PUSH_OPTIONS: Readonly<Record<string, CodatPushOption>> = {
  "Exact (Netherlands)": EXACT_NETHERLANDS,
  "Xero": XERO,
  "QuickBooks Online": QUICKBOOKS_ONLINE,
  "Sage Business Cloud Accounting": SAGE_BUSINESS_CLOUD_ACCOUNTING,
};

/** The example served when no embedded model matches the connection's platform (the spec's first example). */
export const DEFAULT_PUSH_OPTION_EXAMPLE = "Exact (Netherlands)";

/** The create/update customer model for a connection (see the module comment for how it is chosen). */
export function customerPushOption(connection: Pick<CodatConnection, "platformName">): CodatPushOption {
  return CUSTOMER_PUSH_OPTIONS[connection.platformName ?? ""] ?? EXACT_NETHERLANDS;
}
